"""Horovod process set-up: init, device/thread pinning, per-rank seeding and rank-0 logging.

Everything a rank does before it touches a model lives here, in Horovod's order
(``hvd.init`` → pin device or threads → seed). The rest of the project asks
:func:`init_horovod` for a :class:`RankInfo` and never calls ``hvd.rank()`` itself.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import horovod.torch as hvd
import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankInfo:
    """Where this process sits in the Horovod world.

    Attributes:
        rank: global rank, 0 … size−1.
        size: number of processes in the job.
        local_rank: rank among the processes on this host (selects the GPU).
        local_size: processes on this host (divides the CPU cores).
        controller: ``"mpi"`` or ``"gloo"``, the transport Horovod chose for this run.
        device: ``"cuda:<local_rank>"`` or ``"cpu"``.
        threads: torch intra-op threads this rank uses.
        host: host name.
    """

    rank: int
    size: int
    local_rank: int
    local_size: int
    controller: str
    device: str
    threads: int
    host: str

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def as_dict(self) -> dict:
        return asdict(self)


def init_horovod(threads_per_rank: int = 1, seed: int = 0) -> RankInfo:
    """Initialise Horovod and pin this process to its share of the machine.

    Args:
        threads_per_rank: torch threads per rank on CPU (default 1). With ``local_size``
            ranks on a host, more than ``cores // local_size`` oversubscribes the cores and
            silently destroys scaling; 0 means ``max(1, cores // local_size)``.
        seed: base seed; rank r seeds python, numpy and torch with ``seed + r`` so that
            per-rank randomness (dropout, noise) differs while the run stays reproducible.
            Parameters still start identical: they are broadcast from rank 0.

    Returns:
        The :class:`RankInfo` of this process.
    """
    if threads_per_rank < 0:
        raise ValueError(f"threads_per_rank must be >= 0, got {threads_per_rank}")
    hvd.init()  # Horovod: start the background communication thread and join the world.

    if torch.cuda.is_available():
        # Horovod: one GPU per process, chosen by local rank.
        torch.cuda.set_device(hvd.local_rank())
        device = f"cuda:{hvd.local_rank()}"
    else:
        device = "cpu"
    if threads_per_rank == 0:
        threads_per_rank = max(1, (os.cpu_count() or 1) // hvd.local_size())
    torch.set_num_threads(threads_per_rank)  # Horovod: no more threads than this rank's cores.

    random.seed(seed + hvd.rank())
    np.random.seed(seed + hvd.rank())
    torch.manual_seed(seed + hvd.rank())

    return RankInfo(
        rank=hvd.rank(),
        size=hvd.size(),
        local_rank=hvd.local_rank(),
        local_size=hvd.local_size(),
        controller="mpi" if hvd.mpi_enabled() else "gloo",
        device=device,
        threads=torch.get_num_threads(),
        host=os.uname().nodename,
    )


def setup_logging(info: RankInfo, log_file: Path | None = None) -> None:
    """Log at INFO on rank 0 (to stderr and ``log_file``); other ranks log warnings only."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if info.is_root and log_file is not None:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.INFO if info.is_root else logging.WARNING,
        format=f"%(asctime)s [rank {info.rank}/{info.size}] %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )
