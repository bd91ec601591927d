"""The seam between the training loop and a distributed engine: Horovod or torch.distributed.

The loop (:mod:`distributed.loop`) needs only these operations; :mod:`distributed.horovod_engine`
and :mod:`distributed.torch_engine` implement them, and nothing else in the project imports
Horovod or calls ``torch.distributed``:

    rank, size, local_rank, local_size, controller     where this process sits
    distributed(models, optimizers, compression)        what averages gradients: Horovod wraps
                                                        each optimizer (DistributedOptimizer),
                                                        torch each model (DistributedDataParallel)
    finish_gradients(optimizer)                          wait until the averaged gradients are in
    optimizer_step(optimizer, scaler)                    apply them
    broadcast_state(models, optimizers)                  rank 0's state everywhere
    allreduce(tensor, op), broadcast_object(obj), allgather_object(obj)
    run_elastic(body, models, optimizers, on_reset, …)   Horovod elastic (torch: restarts)

:func:`detect_backend` reads the launcher from the environment: torchrun sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``TORCHELASTIC_RUN_ID``; horovodrun and mpirun set
``HOROVOD_RANK`` (Gloo) or ``OMPI_COMM_WORLD_RANK``/``PMI_RANK`` (MPI). With neither, one process
runs on Horovod if it is installed, else on torch.distributed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch

BACKENDS = ("auto", "horovod", "torch")


class Engine(Protocol):
    """What :func:`distributed.loop.train` asks of a distributed engine (see module docstring)."""

    name: str  # "horovod" or "torch"
    controller: str  # the transport: "gloo", "mpi" or "nccl"

    @property
    def rank(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def local_rank(self) -> int: ...
    @property
    def local_size(self) -> int: ...

    def distributed(
        self,
        models: Mapping[str, torch.nn.Module],
        optimizers: Mapping[str, torch.optim.Optimizer],
        compression: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the models as a training step must call them, the optimizers as it must step them)."""

    def finish_gradients(self, optimizer: Any) -> None: ...
    def optimizer_step(self, optimizer: Any, scaler: torch.amp.GradScaler) -> None: ...
    def broadcast_state(
        self, models: Mapping[str, torch.nn.Module], optimizers: Mapping[str, Any]
    ) -> None: ...
    def allreduce(self, tensor: torch.Tensor, op: str = "mean") -> torch.Tensor: ...
    def broadcast_object(self, obj: Any) -> Any: ...
    def allgather_object(self, obj: Any) -> list: ...
    def run_elastic(
        self,
        body: Callable[[Any], None],
        models: Mapping[str, torch.nn.Module],
        optimizers: Mapping[str, Any],
        on_reset: Callable[[Any], None],
        **values: Any,
    ) -> Any:
        """Run ``body(state)`` so that it survives lost workers; ``state`` holds the models,
        optimizers and ``values``, committed by ``state.commit()`` (Horovod elastic)."""


def detect_backend(env: Mapping[str, str] | None = None) -> str:
    """``"torch"`` under torchrun, ``"horovod"`` under horovodrun/mpirun; for one process without
    a launcher ``"horovod"`` if it is installed, else ``"torch"``."""
    env = os.environ if env is None else env
    if "TORCHELASTIC_RUN_ID" in env or {"RANK", "WORLD_SIZE", "MASTER_ADDR"} <= set(env):
        return "torch"
    if {"HOROVOD_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK"} & set(env):
        return "horovod"
    return "horovod" if importlib.util.find_spec("horovod") else "torch"


def start_engine(backend: str, device_type: str) -> Engine:
    """Join the world with ``backend`` (one of :data:`BACKENDS`; ``auto`` = detect)."""
    if backend not in BACKENDS:
        raise ValueError(f"--engine must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = detect_backend()
    if backend == "horovod":
        if not importlib.util.find_spec("horovod"):
            raise ValueError("--engine horovod: Horovod is not installed (use torchrun)")
        from distributed.horovod_engine import HorovodEngine

        return HorovodEngine()
    from distributed.torch_engine import TorchEngine

    return TorchEngine(device_type)
