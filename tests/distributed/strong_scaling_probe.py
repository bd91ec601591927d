"""Run by test_strong_scaling.py with one process and under launchers with two ranks: STEPS
optimizer steps of both models with a fixed global batch GLOBAL split over the ranks — the
loop's sampler, DataLoader, Updater and the engine's averaging — so that two ranks must make
the updates of one process. Writes each step's averaged losses and the final parameters to
OUT/<engine>-np<size>-b<GLOBAL>.pt; GLOBAL may list several batches (8,12), each trained from the
same seeds.

Their random draws are pinned to the jets, not to the ranks (rank r draws from its own stream,
so two ranks and one process draw different noise for the same jets): the GVAE trains in eval
mode (z = μ), the MPGAN without dropout and with its generator noise drawn for the whole global
batch from a generator seeded per call, each rank taking the rows of its own jets (the sampler
gives rank r the jets r, r + size, … of each global batch)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from distributed.batches import move
from distributed.runtime import init_rank, seed_rank
from distributed.sampler import ShardedSampler
from distributed.update import Updater
from gvae.hits import HitGraphOptions
from gvae.loss import LossWeights
from gvae.model import GVAEModelOptions
from gvae.task import GVAEOptions, GVAETask
from mpgan.model import MPGANModelOptions
from mpgan.task import MPGANOptions, MPGANTask


def pinned_noise(generator: torch.nn.Module, rank: int, size: int) -> None:
    """``generator.noise(b)`` returns this rank's rows of one draw for the global batch b·size."""
    calls = iter(range(10**6))

    def noise(batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        draw = torch.Generator().manual_seed(next(calls))
        full = torch.randn(batch * size, 30, generator.cfg.latent, generator=draw)
        return (full * generator.cfg.noise_std)[rank::size].to(device)

    generator.noise = noise


def train(task, engine, steps: int, global_batch: int) -> dict[str, torch.Tensor]:
    step_models, optimizers = engine.distributed(task.models, task.optimizers, "none")
    engine.broadcast_state(task.models, optimizers)
    updater = Updater(task.models, step_models, optimizers, engine, None, 0.0)
    per_rank = global_batch // engine.size
    sampler = ShardedSampler(len(task.train_set), per_rank, engine.rank, engine.size, seed=0)
    loader = iter(DataLoader(task.train_set, per_rank, sampler=sampler, collate_fn=task.collate))
    losses = []
    for _ in range(steps):
        metrics = task.step(move(next(loader), task.device), updater)
        names = sorted(metrics)
        local = torch.tensor([float(metrics[n]) for n in names], dtype=torch.float64)
        losses.append(engine.allreduce(local, "mean"))
    params = torch.cat([p.detach().flatten() for m in task.models.values() for p in m.parameters()])
    return {"losses": torch.stack(losses), "names": names, "params": params}


def main(calorimeter: Path, jets: Path, out: Path, steps: int, global_batches: list[int]) -> None:
    engine, info = init_rank(seed=0)
    for global_batch in global_batches:  # each from the same seeds, fresh models
        seed_rank(info.rank)
        gvae = GVAETask(
            GVAEOptions(data=calorimeter, eval_events=4),
            HitGraphOptions(),
            GVAEModelOptions(),
            LossWeights(),
        )
        gvae.models["gvae"].eval()  # z = μ: no draw
        mpgan = MPGANTask(MPGANOptions(data=jets, eval_jets=20), MPGANModelOptions(dropout=0.0))
        pinned_noise(mpgan.models["generator"], info.rank, info.size)
        result = {
            "gvae": train(gvae, engine, steps, global_batch),
            "mpgan": train(mpgan, engine, steps, global_batch),
        }
        if info.rank == 0:
            torch.save(result, out / f"{info.engine}-np{info.size}-b{global_batch}.pt")


if __name__ == "__main__":
    batches = [int(b) for b in sys.argv[5].split(",")]
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), batches)
