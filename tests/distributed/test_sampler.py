"""The data position: DistributedSampler's shards from the start of an epoch, and an epoch that
changes world size half-way still reads every item once."""

from __future__ import annotations

import torch
from torch.utils.data.distributed import DistributedSampler

from distributed.sampler import Position, ShardedSampler


def test_same_shards_as_distributed_sampler():
    for size in (1, 2, 3):
        for rank in range(size):
            ours = ShardedSampler(103, 4, rank, size, seed=7)
            ours.position = Position(epoch=2)
            theirs = DistributedSampler(
                range(103), num_replicas=size, rank=rank, shuffle=True, seed=7, drop_last=True
            )
            theirs.set_epoch(2)
            expected = list(theirs)[: len(ours)]  # the DataLoader drops the incomplete batch
            assert list(ours) == expected and len(ours) % 4 == 0


def test_world_change_mid_epoch_reads_each_item_once():
    length, batch = 60, 3
    two = [ShardedSampler(length, batch, r, 2, seed=1) for r in range(2)]
    read = []
    for sampler in two:  # 4 steps on two ranks: 4 · 3 · 2 = 24 items
        read += list(sampler)[: 4 * batch]
    position = Position(step=4, epoch=0, consumed=24)
    one = ShardedSampler(length, batch, 0, 1, seed=1)
    one.position = position
    assert one.steps_left() == 12
    read += list(one)
    assert sorted(read) == list(range(length))  # 24 + 36: the whole epoch, no repeats
    order = torch.randperm(length, generator=torch.Generator().manual_seed(1)).tolist()
    assert list(one) == order[24:]  # the single rank continues the same global order
