"""The Horovod engine: ``horovodrun``/``mpirun`` worlds, gradients averaged by DistributedOptimizer.

Each optimizer is wrapped in ``hvd.DistributedOptimizer`` with its parameters named by model, so
that a GAN's two optimizers allreduce disjoint tensors. A training step calls the models as they
are: Horovod's gradient hooks sit on the parameters, and a model frozen for a phase
(``requires_grad_(False)``) fires none. Native AMP composes as Horovod documents it:
``scale(loss).backward() → synchronize() → unscale_ → [clip] → skip_synchronize(): step``, so that
every rank unscales the same averaged gradients and skips the same overflowing steps.

Elastic training (:meth:`HorovodEngine.run_elastic`, Gloo only) keeps the state that must
survive a lost worker in one ``hvd.elastic.TorchState``. An optimizer's empty state is not
broadcast (Horovod would first take a zero-gradient step, which Adam counts as a step): every
rank starts with the same empty state, and a resumed one loads the same checkpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import horovod.torch as hvd
import torch

OPS = {"mean": hvd.Average, "sum": hvd.Sum, "max": hvd.Max, "min": hvd.Min}


class HorovodEngine:
    """Horovod started with ``hvd.init()``; rank and size are read live (elastic resets)."""

    name = "horovod"

    def __init__(self) -> None:
        hvd.init()  # Horovod: start the background communication thread and join the world.

    @property
    def controller(self) -> str:
        return "mpi" if hvd.mpi_enabled() else "gloo"

    @property
    def rank(self) -> int:
        return hvd.rank()

    @property
    def size(self) -> int:
        return hvd.size()

    @property
    def local_rank(self) -> int:
        return hvd.local_rank()

    @property
    def local_size(self) -> int:
        return hvd.local_size()

    def distributed(
        self,
        models: Mapping[str, torch.nn.Module],
        optimizers: Mapping[str, torch.optim.Optimizer],
        compression: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        codec = hvd.Compression.fp16 if compression == "fp16" else hvd.Compression.none
        wrapped = {
            # Horovod: average gradients in allreduce; names prefixed by model keep GANs apart.
            name: hvd.DistributedOptimizer(
                optimizer,
                named_parameters=[(f"{name}.{n}", p) for n, p in models[name].named_parameters()],
                compression=codec,
            )
            for name, optimizer in optimizers.items()
        }
        return dict(models), wrapped

    def finish_gradients(self, optimizer: Any) -> None:
        optimizer.synchronize()  # Horovod: wait for the gradient allreduce

    def optimizer_step(self, optimizer: Any, scaler: torch.amp.GradScaler) -> None:
        with optimizer.skip_synchronize():  # Horovod: already synchronized above
            scaler.step(optimizer)

    def broadcast_state(
        self, models: Mapping[str, torch.nn.Module], optimizers: Mapping[str, Any]
    ) -> None:
        for model in models.values():
            hvd.broadcast_parameters(model.state_dict(), root_rank=0)
        for optimizer in optimizers.values():
            # On an empty state Horovod would first take a zero-gradient step to create it,
            # which Adam counts as its first step; every rank starts empty anyway.
            if optimizer.state_dict()["state"]:
                hvd.broadcast_optimizer_state(optimizer, root_rank=0)

    def allreduce(self, tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
        return hvd.allreduce(tensor, op=OPS[op])

    def broadcast_object(self, obj: Any) -> Any:
        return hvd.broadcast_object(obj, root_rank=0)

    def allgather_object(self, obj: Any) -> list:
        return hvd.allgather_object(obj)

    def run_elastic(
        self,
        body: Callable[[Any], None],
        models: Mapping[str, torch.nn.Module],
        optimizers: Mapping[str, Any],
        on_reset: Callable[[Any], None],
        **values: Any,
    ) -> Any:
        """Run ``body(state)`` inside ``hvd.elastic.run``: after a worker is lost or added, the
        survivors roll back to the last ``state.commit()`` and call ``on_reset(state)`` before
        ``body`` runs again on the new world. ``state`` holds every model and optimizer and
        ``values`` as plain, immutable attributes; it is returned when ``body`` has run to its
        end."""
        state = _ElasticState(models, optimizers, **values)
        state.register_reset_callbacks([lambda: on_reset(state)])
        hvd.elastic.run(body)(state)
        return state


class _ElasticState(hvd.elastic.TorchState):
    """``hvd.elastic.TorchState`` that keeps the optimizers as copies of their state dicts.

    Horovod's own optimizer handler syncs with ``broadcast_optimizer_state``, which on an empty
    state first takes a zero-gradient step: Adam would count one step more than a run that is
    not elastic. Here the state dicts are plain values (``optimizer_states``), snapshot at each
    commit, broadcast from rank 0 on sync and loaded back on sync and restore.
    """

    def __init__(self, models, optimizers, **values: Any) -> None:
        self._optimizers = dict(optimizers)
        super().__init__(
            **{f"model_{k}": m for k, m in models.items()},
            optimizer_states=self._snapshot(),
            **values,
        )

    def _snapshot(self) -> dict:
        return {k: copy.deepcopy(o.state_dict()) for k, o in self._optimizers.items()}

    def _load(self) -> None:
        for name, optimizer in self._optimizers.items():
            optimizer.load_state_dict(self.optimizer_states[name])

    def save(self) -> None:
        self.optimizer_states = self._snapshot()
        super().save()

    def restore(self) -> None:
        super().restore()
        self._load()

    def sync(self) -> None:
        super().sync()
        self._load()
