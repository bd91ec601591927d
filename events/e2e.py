"""CMS E2E jet-image files: parquet (boosted-top data) and HDF5 (quark/gluon data) layouts.

Parquet (``*.snappy.parquet``, one row per jet)::

    X_jets  list<list<list<float>>>  (3, 125, 125) = (tracks, ECAL, HCAL)
    pt, m0, y                         jet pT [GeV], jet mass [GeV], label

HDF5 (``quark-gluon_data-set_n139306.hdf5``)::

    X_jets [N, 125, 125, 3] float32 (channels last), y [N], and pt, m0 [N] where present

:func:`read_e2e` reads either into channels-first images [N, 3, H, W] and a table of labels.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

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
    """Write images [N, 3, H, W] and labels (pt, m0, y) in the suffix's layout, atomically."""
    path = Path(path)
    validate_images(images, str(path))
    missing = [k for k in LABELS if k not in labels]
    if missing:
        raise ValueError(f"{path}: labels {missing} missing")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix in PARQUET_SUFFIXES:
        columns = {"X_jets": _nested_list(images.astype(np.float32))}
        columns.update({k: pa.array(np.asarray(labels[k], dtype=np.float32)) for k in LABELS})
        pq.write_table(pa.table(columns), tmp, compression="snappy", row_group_size=256)
    elif path.suffix in HDF5_SUFFIXES:
        with h5py.File(tmp, "w") as f:
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
    tmp.replace(path)


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
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such E2E file")
    if path.suffix in PARQUET_SUFFIXES:
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise ValueError(f"{path}: not a parquet file ({err})") from None
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
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            raise ValueError(f"{path}: not an HDF5 file ({err})") from None
        with f:
            if "X_jets" not in f:
                raise ValueError(f"{path}: missing dataset 'X_jets' (found {sorted(f.keys())})")
            data = f["X_jets"]
            if data.ndim != 4:
                raise ValueError(f"{path}: X_jets must be [N, H, W, C], got {data.shape}")
            images = data[:limit].astype(np.float32).transpose(0, 3, 1, 2)
            labels = {k: f[k][:limit].astype(np.float32) for k in LABELS if k in f}
    else:
        raise ValueError(f"{path}: unknown suffix; use one of {PARQUET_SUFFIXES + HDF5_SUFFIXES}")
    validate_images(images, str(path))
    return np.ascontiguousarray(images), labels


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
