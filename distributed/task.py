"""The seam between the models and the distributed engines: what a trainable task gives the loop.

A task owns its models, one optimizer per model it trains, its training set and how to collate
it, and the maths of one step. It never calls an engine: the loop shards its data, and hands
``step`` a :class:`Phase` factory that performs the distributed update of one model::

    def step(self, batch, phase):
        with phase("gvae") as gvae:          # the parameters of every *other* model are frozen
            losses = self.losses(batch, gvae.model)   # the trained model, called as the engine
            gvae.update(losses["total"])     # needs: backward, average, (unscale, clip,) step
        return {name: value.detach() for name, value in losses.items()}  # tensors: no sync

Inside a phase, call the model being trained through ``phase.model`` (under torchrun that is its
DistributedDataParallel wrapper, under Horovod the model itself) and every other model directly.
A GAN opens two phases per step ("discriminator", then "generator"); the model that is not being
optimised is frozen, so the gradients of the other model's loss are neither averaged nor applied
to it. A step may skip a phase: ``phase.batch_index`` (this batch's place in its epoch, restored
on resume) lets a WGAN train its generator every ``n_critic`` batches, as published. A loss that
holds a gradient, such as WGAN-GP's penalty on ‖∇ₓD(x̂)‖, takes it from
``p.input_gradient(outputs, inputs)`` (a second-order backward through ``p.model``, the loss
scaling of fp16 applied and undone), then ``p.update`` backpropagates through it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class PhaseStep:
    """What ``with phase(name) as p`` gives: the trained model as the engine runs it, the update
    that backpropagates a loss and applies the averaged gradients, and ``input_gradient(outputs,
    inputs)`` = ∂(Σ outputs)/∂inputs [same shape as inputs] with its graph kept, so that a loss
    built from it (a gradient penalty) backpropagates into the model's parameters."""

    model: Callable[..., Any]
    update: Callable[[torch.Tensor], None]
    input_gradient: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Phase(Protocol):
    """The phase factory ``task.step`` receives (see module docstring)."""

    batch_index: int  # this step's batch in its epoch, 0-based (the same on every rank)

    def __call__(self, name: str) -> AbstractContextManager[PhaseStep]: ...


class Task(Protocol):
    """What :func:`distributed.loop.train` needs from a model (see module docstring)."""

    models: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]  # keyed by the model each one trains
    train_set: Dataset
    selection_metric: str  # the evaluate() key, lower is better, that picks best.pt

    def collate(self, items: list[Any]) -> Any:
        """Turn dataset items into a CPU batch (runs in loader workers; the loop moves it)."""

    def step(self, batch: Any, phase: Phase) -> dict[str, torch.Tensor]:
        """One training step; returns scalar metrics as detached tensors (the loop averages
        them over ranks on logging steps, the only time they leave the device)."""

    def autocast_dtype(self, device: str) -> torch.dtype | None:
        """The mixed precision ``--amp auto`` uses on ``device`` (None: full precision)."""

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics (rank 0)."""

    def report(self, out: Path) -> None:
        """End-of-run report into the run directory (rank 0)."""
