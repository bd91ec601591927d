"""MNIST-format images: IDX files (gzip'd or raw) and the CSV layouts, and the folders that hold
them. Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747; Debian's
``dataset-fashion-mnist``) by default; real MNIST files read the same way.

- IDX (LeCun's format): a big-endian header — two zero bytes, the element type (0x08: uint8),
  the number of dimensions — then each dimension as a big-endian int32, then the data. Images
  are ``0x00000803`` (N × 28 × 28), labels ``0x00000801`` (N).
- CSV: one image per row, ``label, p0 … p783`` (0–255, row-major); with or without a header row
  (the pjreddie files have none, Kaggle's ``label,pixel1,…`` one).

A folder holds a training and a test set: ``train-images-idx3-ubyte[.gz]`` with
``train-labels-idx1-ubyte[.gz]`` and ``t10k-…``, or two CSV files whose names contain ``train``
and ``test``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
SIDE = 28
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (``.gz`` or raw) as a uint8 array of its dimensions.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an IDX file of unsigned bytes, or cut short, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such IDX file")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable gzip file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 3:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    start, size = 4 + 4 * ndim, int(np.prod(shape))
    if len(raw) != start + size:
        raise ValueError(f"{path}: {len(raw) - start} data bytes for a {shape} array (cut short?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape)


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 28, 28] uint8, labels [N]) of an MNIST CSV file, with or without a header.

    Raises:
        FileNotFoundError: no such file.
        ValueError: rows that are not a label and 784 values in 0–255, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CSV file")
    with path.open() as f:
        first = f.readline().split(",")[0].strip()
    header = 0 if first.isdigit() else 1
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, skiprows=header, ndmin=2)
    except ValueError as err:
        raise ValueError(f"{path}: not an MNIST CSV file ({err})") from None
    if table.shape[1] != 1 + SIDE * SIDE or table.min() < 0 or table[:, 1:].max() > 255:
        raise ValueError(f"{path}: expected rows of a label and {SIDE * SIDE} values in 0-255")
    return table[:, 1:].reshape(-1, SIDE, SIDE).astype(np.uint8), table[:, 0]


def read_images(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 28, 28] uint8, labels [N]) of a folder's ``"train"`` or ``"test"`` set.

    Raises:
        FileNotFoundError: the folder holds no such set (the message says what it looks for).
        ValueError: damaged files, or images and labels of different counts.
    """
    folder = Path(folder)
    prefix = {"train": "train", "test": "t10k"}[split]
    for suffix in (".gz", ""):
        images = folder / f"{prefix}-images-idx3-ubyte{suffix}"
        labels = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
        if images.is_file() and labels.is_file():
            x, y = read_idx(images), read_idx(labels)
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise ValueError(f"{images}, {labels}: {x.shape} images and {y.shape} labels")
            return x, y.astype(np.int64)
    csvs = sorted(p for p in folder.glob("*.csv") if split in p.name.lower())
    if len(csvs) == 1:
        return read_csv(csvs[0])
    hint = (
        " (Fashion-MNIST: `apt-get install dataset-fashion-mnist`, or `make images`)"
        if folder == FASHION_MNIST
        else ""
    )
    raise FileNotFoundError(
        f"{folder}: no {split} set (IDX {prefix}-images-idx3-ubyte[.gz] with "
        f"{prefix}-labels-idx1-ubyte[.gz], or one CSV file named *{split}*.csv){hint}"
    )
