"""The project's files on disk: every read fails in one line that names the file, the problem
and the fix; every write is atomic.

Reading: HDF5 inputs (JetNet, E2E) through :func:`open_hdf5` and :func:`read_dataset`, which
tell apart a file that is not HDF5, one cut short, one locked by a process writing it, and a
damaged compressed chunk (h5py raises ``OSError`` for all of them, deep in a traceback); parquet
through :func:`read_parquet` (page checksums verified where the file has them: ours do);
checkpoints (``torch.save`` files) through :func:`read_checkpoint`. Each raises
``FileNotFoundError`` or ``ValueError``, which every command turns into one line and exit
status 2.

Writing: :func:`atomic_write` — a temporary file next to the target, flushed and fsynced, then
renamed over it — so that a process killed at any moment leaves the old file or the new one,
never half of one (POSIX ``rename`` is atomic within a file system).
"""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np

LOCKED = ("unable to lock file", "errno = 11", "resource temporarily unavailable")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def describe_hdf5_error(path: Path, err: OSError) -> str:
    """One line for an ``OSError`` h5py raised opening ``path``."""
    text = str(err).lower()
    if any(marker in text for marker in LOCKED):
        return (
            f"{path}: locked by another process that has it open for writing (HDF5 file "
            "locking); close that process first, or set HDF5_USE_FILE_LOCKING=FALSE if this "
            "file system needs it (some NFS and Lustre mounts)"
        )
    if "truncated file" in text:
        return f"{path}: the file is cut short ({_first_line(err)}); copy or generate it again"
    if "file signature not found" in text:
        return f"{path}: not an HDF5 file"
    return f"{path}: cannot be opened as HDF5 ({_first_line(err)})"


@contextmanager
def open_hdf5(path: Path, kind: str = "HDF5") -> Iterator[h5py.File]:
    """``path`` opened read-only; ``kind`` names the file in errors ("JetNet", "E2E").

    Raises:
        FileNotFoundError: no such file.
        ValueError: not HDF5, truncated, or locked by a writer (:func:`describe_hdf5_error`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(describe_hdf5_error(path, err)) from None
    with f:
        yield f


def read_dataset(f: h5py.File, name: str, rows: slice = slice(None)) -> np.ndarray:
    """``f[name][rows]``; a dataset that is missing or cannot be decoded (a damaged compressed
    chunk: h5py's "filter returned failure during read") is a ``ValueError`` naming both."""
    path = f.filename
    if name not in f:
        raise ValueError(f"{path}: missing dataset '{name}' (found {sorted(f.keys())})")
    try:
        return f[name][rows]
    except OSError as err:
        raise ValueError(
            f"{path}: dataset '{name}' cannot be read, the file is damaged ({_first_line(err)}); "
            "copy or generate it again"
        ) from None


def read_parquet(path: Path, kind: str = "parquet"):
    """The parquet table at ``path`` (``pyarrow.Table``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not parquet, cut short or damaged, in one line naming the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file")
    try:  # pages written with a checksum (ours are) are verified
        return pq.read_table(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as err:
        raise ValueError(
            f"{path}: cannot be read as parquet, the file is damaged, cut short or not parquet "
            f"({_first_line(err)})"
        ) from None


def read_checkpoint(path: Path, model_version: int | None = None) -> dict[str, Any]:
    """A checkpoint written by ``torch.save`` (the trainer's ``checkpoint.pt``/``best.pt``), on
    the CPU. With ``model_version`` (a spec's ``MODEL_VERSION``: what the parameters compute),
    a checkpoint recording another (``config["code"]["model_version"]``) is refused; one that
    records none (written before versions were kept, or imported weights) is read.

    Raises:
        FileNotFoundError: no such file.
        ValueError: cut short, damaged, not a checkpoint, or of another model definition, in one
            line naming the file.
    """
    state = read_torch_file(path, weights_only=False)
    if not isinstance(state, dict) or "models" not in state:
        raise ValueError(f"{path}: not a training checkpoint (no 'models')")
    code = state.get("config", {}).get("code") or {}
    if model_version is not None and code.get("model_version", model_version) != model_version:
        raise ValueError(
            f"{path} was written by model definition {code['model_version']} (commit "
            f"{code.get('commit') or '?'}), this code has definition {model_version}: use it "
            "with its own code (git checkout that commit), or start anew"
        )
    return state


def read_state_dict(path: Path) -> dict[str, Any]:
    """A module's state dict saved by ``torch.save`` (name → tensor; published weights), on the
    CPU, loaded with ``weights_only`` (no code runs).

    Raises:
        FileNotFoundError: no such file.
        ValueError: cut short, damaged or not a state dict of tensors, naming the file.
    """
    import torch

    state = read_torch_file(path)
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return state


def read_torch_file(path: Path, weights_only: bool = True, kind: str = "checkpoint") -> Any:
    """What ``torch.save`` wrote into ``path``, on the CPU (``weights_only``: no code runs).

    Raises:
        FileNotFoundError: "<path>: no such <kind>".
        ValueError: "<path>: not a readable <kind>, cut short or damaged (…)", one line.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind}")
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
    ) as err:
        raise ValueError(
            f"{path}: not a readable {kind}, cut short or damaged ({_first_line(err)})"
        ) from None


def atomic_write(
    path: Path,
    content: bytes | str | Callable[[BinaryIO], None],
    before_rename: Callable[[], None] | None = None,
) -> None:
    """Write ``path`` atomically: ``content`` (bytes, text as UTF-8, or a function writing into
    the open binary file) goes to a temporary file ``<path>.tmp`` in the same folder, which is
    flushed, fsynced and renamed over ``path`` (after ``before_rename()``, the tests' fault
    hook). On an exception the temporary file is removed and ``path`` left as it was.

    Raises:
        OSError: ENOSPC with ``filename`` = ``path``, when the file system fills — also where
            the writer reports it otherwise (torch.save's "unexpected pos").
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w+b") as f:  # (h5py reads back what it writes)
            if callable(content):
                content(f)
            else:
                f.write(content.encode() if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        if before_rename is not None:
            before_rename()
        tmp.replace(path)
    except BaseException as err:
        full = disk_full(err, path.parent)  # (before the temporary file frees its space)
        tmp.unlink(missing_ok=True)
        if full:
            raise OSError(errno.ENOSPC, "no space left on device", str(path)) from None
        raise


def disk_full(err: BaseException, folder: Path) -> bool:
    """Whether ``err``, raised while writing into ``folder``, means its file system is full: an
    ENOSPC/EDQUOT ``OSError``, or another writer's error (torch.save raises ``RuntimeError``)
    while less than 64 KiB are free there."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(err, RuntimeError):
        try:
            return shutil.disk_usage(folder).free < 64 * 1024
        except OSError:
            return False
    return False
