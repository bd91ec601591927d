"""Where training stands in the data (:class:`Position`) and each rank's share of what is left.

Epoch e reads the training set in the order ``randperm(N)`` of a generator seeded ``seed + e``,
the same order whatever the number of ranks. A :class:`Position` says how many items of that
order are done (``consumed``, over all ranks). Rank r of ``size`` takes every size-th of the rest,
starting at r, cut to whole global batches of ``batch_size · size``, so that its k-th batch from
here holds items ``consumed + (k·B + j)·size + r`` (j < B) of the order — exactly what PyTorch's
``DistributedSampler(shuffle=True, drop_last=True)`` gives from the start of an epoch.

Because the position counts items, not steps, it stays exact when the world changes (a resume on
another number of ranks, an elastic reset): the ranks that are left split the rest of the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import Sampler


@dataclass(frozen=True)
class Position:
    """Optimizer steps taken, the epoch, and the items of that epoch's order already read."""

    step: int = 0
    epoch: int = 0
    consumed: int = 0


class ShardedSampler(Sampler[int]):
    """This rank's indices for the rest of the epoch at ``position`` (see module docstring).

    Args:
        length: items in the training set N.
        batch_size: items per rank per step B.
        rank, size: this rank and the number of ranks.
        seed: epoch e is ordered by ``torch.randperm(N)`` with the generator seeded ``seed + e``.
    """

    def __init__(self, length: int, batch_size: int, rank: int, size: int, seed: int) -> None:
        self.length, self.batch_size, self.rank, self.size, self.seed = (
            length,
            batch_size,
            rank,
            size,
            seed,
        )
        self.position = Position()

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.size

    def steps_per_epoch(self) -> int:
        """Steps in a whole epoch (the last incomplete global batch is dropped)."""
        return self.length // self.global_batch

    def steps_left(self) -> int:
        """Steps left in the epoch of ``self.position``."""
        return (self.length - self.position.consumed) // self.global_batch

    def __iter__(self) -> Iterator[int]:
        order = torch.randperm(
            self.length, generator=torch.Generator().manual_seed(self.seed + self.position.epoch)
        )
        start = self.position.consumed
        rest = order[start : start + self.steps_left() * self.global_batch]
        return iter(rest[self.rank :: self.size].tolist())

    def __len__(self) -> int:
        return self.steps_left() * self.batch_size
