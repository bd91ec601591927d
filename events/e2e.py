"""CMS E2E jet-image files: parquet (boosted-top data) and HDF5 (quark/gluon data) layouts.

Parquet (``*.snappy.parquet``, one row per jet)::

    X_jets  list<list<list<float>>>  (3, 125, 125) = (tracks, ECAL, HCAL)
    pt, m0, y                         jet pT [GeV], jet mass [GeV], label

HDF5 (``quark-gluon_data-set_n139306.hdf5``)::

    X_jets [N, 125, 125, 3] float32 (channels last), y [N], and pt, m0 [N] where present

:func:`read_e2e` reads either into channels-first images [N, 3, H, W] and a table of labels;
images stored the other way round (channels first in HDF5, channels last in parquet) are read
too. Damaged, cut-short or locked files fail in one line naming the file (:mod:`storage.files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from storage.files import atomic_write, open_hdf5, read_dataset, read_parquet

PARQUET_SUFFIXES = (".parquet",)
HDF5_SUFFIXES = (".h5", ".hdf5")
LABELS = ("pt", "m0", "y")


def _nested_list(images: np.ndarray) -> pa.Array:
    """[N, C, H, W] → list<list<list<float>>> of N rows without Python objects."""
    n, c, h, w = images.shape
    flat = pa.array(images.reshape(-1), type=pa.float32())
    rows_w = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * c * h * w + 1, w, dtype=np.int32)), flat
    )
    rows_h = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * c * h + 1, h, dtype=np.int32)), rows_w
    )
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * c + 1, c, dtype=np.int32)), rows_h)


def write_e2e(path: Path, images: np.ndarray, labels: dict[str, np.ndarray]) -> None:
    """Write images [N, 3, H, W] and labels (pt, m0, y) in the suffix's layout, atomically
    (:func:`storage.files.atomic_write`)."""
    path = Path(path)
    validate_images(images, str(path))
    missing = [k for k in LABELS if k not in labels]
    if missing:
        raise ValueError(f"{path}: labels {missing} missing")
    if path.suffix in PARQUET_SUFFIXES:

        def write(file: BinaryIO) -> None:
            columns = {"X_jets": _nested_list(images.astype(np.float32))}
            columns.update({k: pa.array(np.asarray(labels[k], dtype=np.float32)) for k in LABELS})
            pq.write_table(
                pa.table(columns),
                file,
                compression="snappy",
                row_group_size=256,
                write_page_checksum=True,  # so that a damaged page is found when read
            )

    elif path.suffix in HDF5_SUFFIXES:

        def write(file: BinaryIO) -> None:
            with h5py.File(file, "w") as f:
                f.create_dataset(
                    "X_jets",
                    data=images.transpose(0, 2, 3, 1).astype(np.float32),
                    compression="gzip",
                    chunks=(1, *images.shape[2:], images.shape[1]),
                )
                for k in LABELS:
                    f.create_dataset(k, data=np.asarray(labels[k], dtype=np.float32))

    else:
        raise ValueError(f"{path}: unknown suffix; use one of {PARQUET_SUFFIXES + HDF5_SUFFIXES}")
    atomic_write(path, write)


def read_e2e(path: Path, limit: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read an E2E file (parquet or HDF5, generated here or from CMS open data).

    Args:
        path: the file.
        limit: read at most this many jets.

    Returns:
        ``(images [N, 3, H, W] float32, {"pt", "m0", "y"} → [N] where present)``.
        Raises ``FileNotFoundError`` or ``ValueError`` naming the file and the problem.
    """
    path = Path(path)
    if path.suffix in PARQUET_SUFFIXES:
        table = read_parquet(path, "E2E")
        if "X_jets" not in table.column_names:
            raise ValueError(f"{path}: missing column 'X_jets' (found {table.column_names})")
        if limit is not None:
            table = table.slice(0, limit)
        column = table.column("X_jets").combine_chunks()
        try:
            n_ch = len(column[0]) if len(column) else 3
            height = len(column[0][0]) if len(column) else 0
            flat = column.flatten().flatten().flatten().to_numpy(zero_copy_only=False)
            images = flat.astype(np.float32).reshape(len(column), n_ch, height, -1)
        except (ValueError, AttributeError, pa.ArrowInvalid) as err:
            raise ValueError(
                f"{path}: X_jets is not a [N, C, H, W] array of images ({err})"
            ) from None
        labels = {
            k: table.column(k).to_numpy().astype(np.float32)
            for k in LABELS
            if k in table.column_names
        }
    elif path.suffix in HDF5_SUFFIXES:
        with open_hdf5(path, "E2E") as f:
            images = read_dataset(f, "X_jets", slice(limit)).astype(np.float32)
            labels = {
                k: read_dataset(f, k, slice(limit)).astype(np.float32) for k in LABELS if k in f
            }
    else:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such E2E file")
        raise ValueError(f"{path}: unknown suffix; use one of {PARQUET_SUFFIXES + HDF5_SUFFIXES}")
    images = channels_first(images, str(path))
    validate_images(images, str(path))
    return np.ascontiguousarray(images), labels


def channels_first(images: np.ndarray, source: str) -> np.ndarray:
    """Images [N, 3, H, W] from either layout: channels first as they are, channels last
    ([N, H, W, 3], the CMS HDF5 files) transposed.

    Raises:
        ValueError: neither layout, naming the shape the file has and the two it may have.
    """
    if images.ndim == 4 and images.shape[1] == 3:
        return images
    if images.ndim == 4 and images.shape[3] == 3:
        return images.transpose(0, 3, 1, 2)
    raise ValueError(
        f"{source}: X_jets has shape {images.shape}; expected images [N, H, W, 3] (channels "
        "last) or [N, 3, H, W] (channels first), channels = tracks, ECAL, HCAL"
    )


def validate_images(images: np.ndarray, source: str) -> None:
    """Images must be [N, 3, H, W], finite and non-negative (energies and pTs)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(
            f"{source}: images must be [N, 3, H, W] (tracks, ECAL, HCAL), got {images.shape}"
        )
    if not np.isfinite(images).all():
        raise ValueError(f"{source}: images contain NaN or inf")
    if (images < 0).any():
        raise ValueError(f"{source}: images contain negative energies")
