"""Run by test_table2_rows.py with one process and under launchers with two ranks: every Table 2
row (mpgan/rows.py) trained for STEPS steps of the loop's own ``train_step`` (the row's loss,
optimizers, critic steps, gradient penalty; the engine's wrappers and averaging) at a global
batch GLOBAL split over the ranks. Writes, per row, the parameters rank 0 ended with, their largest
difference between ranks and the skipped updates to OUT/<engine>-np<size>.pt.

The random draws are pinned to the jets, not the ranks, so that two ranks must make one
process's updates: the generator noise and the gradient penalty's α are drawn for the whole
global batch from a generator seeded per call, each rank taking its own jets' rows (the sampler
gives rank r the jets r, r + size, … of each global batch), and the MP discriminator trains
without dropout. Everything runs in float64: in float32 the rounding of a batch of 4 and one of 8
(other kernels) flips the sign of gradients that are zero but for rounding, which Adam's first
steps turn into whole learning-rate steps, and near-ties of the FC discriminator's max pooling
pick other particles. GraphCNN's BatchNorm normalises over each rank's jets, so its rows agree
across ranks but not with one process (tested apart)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from distributed.batches import data_loader
from distributed.loop import parameter_spread, prepare, train_step
from distributed.options import TrainOptions
from distributed.runtime import init_rank, seed_rank
from mpgan.model import MPGANModelOptions
from mpgan.rows import ROWS
from mpgan.task import MPGANOptions, MPGANTask


def pin_draws(task: MPGANTask, rank: int, size: int) -> None:
    """The generator's noise and the penalty's α: this rank's rows of one global draw."""
    generator = task.models["generator"]
    calls = iter(range(10**6))

    def draw(batch: int, shape: tuple[int, ...], scale: float, uniform: bool) -> torch.Tensor:
        seeded = torch.Generator().manual_seed(next(calls))
        full = (torch.rand if uniform else torch.randn)((batch * size, *shape), generator=seeded)
        return (full * scale)[rank::size]

    generator.noise = lambda b, device="cpu": draw(b, generator.noise_shape, 0.2, False).to(device)
    task.interpolation_weights = lambda b, device: draw(b, (1, 1), 1.0, True).to(device)


def main(jets: Path, out: Path, steps: int, global_batch: int) -> None:
    engine, info = init_rank(seed=0)
    torch.set_default_dtype(torch.float64)
    results = {}
    for row in ROWS:
        seed_rank(info.rank)
        data, model = row.task_options("g")
        task = MPGANTask(
            MPGANOptions(data=jets, eval_jets=20, **data),
            MPGANModelOptions(dropout=0.0, **model),
        )
        task.train_set.jets = task.train_set.jets.double()
        pin_draws(task, info.rank, info.size)
        options = TrainOptions(
            global_batch_size=global_batch, amp="off", loader_workers=0, log_every=1
        )
        run = prepare(task, options, engine, torch.device("cpu"), seed=0)
        engine.broadcast_state(task.models, run.optimizers)
        start = torch.cat(
            [p.detach().flatten() for m in task.models.values() for p in m.parameters()]
        )
        batches = iter(data_loader(task, run.sampler, 0, seed=info.rank))
        for _ in range(steps):
            train_step(run, batches)
        params = torch.cat(
            [p.detach().flatten() for m in task.models.values() for p in m.parameters()]
        )
        results[row.directory] = {
            "params": params,
            "start": start,
            "spread": parameter_spread(engine, task),
            "skipped": run.updater.skipped_total,
        }
    if info.rank == 0:
        torch.save(results, out / f"{info.engine}-np{info.size}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
