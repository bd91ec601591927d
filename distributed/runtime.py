"""Process set-up: join the engine's world, pin device/threads, seed per rank, log on rank 0.

Everything a rank does before it touches a model lives here, in Horovod's order
(init → pin device or threads → seed). The rest of the project asks :func:`init_rank` for the
engine and a :class:`RankInfo` and never reads ranks from the environment itself.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from distributed.engine import Engine, start_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankInfo:
    """Where this process sits in the world when it starts (an elastic run may change it).

    Attributes:
        rank: global rank, 0 … size−1.
        size: number of processes in the job.
        local_rank: rank among the processes on this host (selects the GPU).
        local_size: processes on this host (divides the CPU cores).
        engine: ``"horovod"`` or ``"torch"``.
        controller: the transport, ``"mpi"``, ``"gloo"`` or ``"nccl"``.
        device: ``"cuda:<local_rank>"`` or ``"cpu"``.
        threads: torch intra-op threads this rank uses.
        host: host name.
    """

    rank: int
    size: int
    local_rank: int
    local_size: int
    engine: str
    controller: str
    device: str
    threads: int
    host: str

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def as_dict(self) -> dict:
        return asdict(self)


def seed_rank(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every GPU) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def init_rank(
    backend: str = "auto", threads_per_rank: int = 1, seed: int = 0
) -> tuple[Engine, RankInfo]:
    """Join the world and pin this process to its share of the machine.

    Args:
        backend: ``auto`` (from the launcher, :func:`distributed.engine.detect_backend`),
            ``horovod`` or ``torch``.
        threads_per_rank: torch threads per rank on CPU (default 1). With ``local_size``
            ranks on a host, more than ``cores // local_size`` oversubscribes the cores and
            silently destroys scaling; 0 means ``max(1, cores // local_size)``.
        seed: base seed; rank r seeds python, numpy and torch with ``seed + r`` so that
            per-rank randomness (dropout, noise) differs while the run stays reproducible.
            Parameters still start identical: they are broadcast from rank 0.

    Returns:
        The engine and the :class:`RankInfo` of this process.
    """
    if threads_per_rank < 0:
        raise ValueError(f"--threads-per-rank must be >= 0, got {threads_per_rank}")
    engine = start_engine(backend, "cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        torch.cuda.set_device(engine.local_rank)  # one GPU per process, chosen by local rank
        device = f"cuda:{engine.local_rank}"
    else:
        device = "cpu"
    if threads_per_rank == 0:
        threads_per_rank = max(1, (os.cpu_count() or 1) // engine.local_size)
    torch.set_num_threads(threads_per_rank)  # no more threads than this rank's cores
    seed_rank(seed + engine.rank)
    info = RankInfo(
        rank=engine.rank,
        size=engine.size,
        local_rank=engine.local_rank,
        local_size=engine.local_size,
        engine=engine.name,
        controller=engine.controller,
        device=device,
        threads=torch.get_num_threads(),
        host=os.uname().nodename,
    )
    return engine, info


def leave_world() -> None:
    """Leave the torch.distributed process group, if this process is in one, before it exits on
    an error: with the group still up, Gloo's threads made half of such exits abort (``terminate
    called without an active exception``, SIGABRT), and torchrun named that the root cause."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


class _RankFilter(logging.Filter):
    """Stamps each record with the current rank and size (an elastic reset can change them) and
    lets rank 0 log from INFO up, the other ranks warnings only (``root_only``: nothing)."""

    def __init__(self, engine: Engine, root_only: bool = False) -> None:
        super().__init__()
        self.engine, self.root_only = engine, root_only

    def filter(self, record: logging.LogRecord) -> bool:
        record.rank, record.size = self.engine.rank, self.engine.size
        if self.engine.rank == 0:
            return record.levelno >= logging.INFO
        return not self.root_only and record.levelno >= logging.WARNING


def setup_logging(engine: Engine, log_file: Path | None = None) -> None:
    """Log at INFO on rank 0 (to stderr and ``log_file``); other ranks log warnings only, to
    stderr. Whichever process is rank 0 writes the file (after an elastic reset, another one)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].addFilter(_RankFilter(engine))
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, delay=True))
        handlers[1].addFilter(_RankFilter(engine, root_only=True))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s [rank %(rank)s/%(size)s] %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )


def reset_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed (they ask the engine for
    the rank, and one holds the run's ``train.log`` open): a process may train again."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if any(isinstance(f, _RankFilter) for f in handler.filters):
            root.removeHandler(handler)
            handler.close()
