"""The seam between the models and Horovod: what a trainable task gives the training loop.

A task owns its models, one optimizer per model it trains, its training set and how to collate
it, and the maths of one step. It never calls Horovod: the loop wraps its optimizers, shards its
data, and hands ``step`` a :class:`Phase` factory that performs the distributed update::

    def step(self, batch, phase):
        with phase("gvae") as update:      # parameters of every *other* model are frozen here
            losses = self.losses(batch)
            update(losses["total"])        # backward, allreduce, (unscale, clip,) optimizer step
        return {name: value.item() for name, value in losses.items()}

A GAN opens two phases per step ("discriminator", then "generator"); freezing the model that is
not being optimised keeps its gradient hooks silent, so its optimizer neither averages nor
applies gradients from the other model's loss.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

Update = Callable[[torch.Tensor], None]
Phase = Callable[[str], AbstractContextManager[Update]]


class Task(Protocol):
    """What :func:`distributed.loop.train` needs from a model (see module docstring)."""

    models: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]  # keyed by the model each one trains
    train_set: Dataset
    selection_metric: str  # the evaluate() key, lower is better, that picks best.pt

    def collate(self, items: list[Any]) -> Any:
        """Turn dataset items into a CPU batch (runs in loader workers; the loop moves it)."""

    def step(self, batch: Any, phase: Phase) -> dict[str, float]:
        """One training step; returns scalar metrics (averaged over ranks by the loop)."""

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics (rank 0)."""

    def report(self, out: Path) -> None:
        """End-of-run report into the run directory (rank 0)."""
