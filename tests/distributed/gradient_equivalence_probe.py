"""Run by test_gvae_train.py under a launcher with 1 and 2 ranks: one GVAE update through the
loop's Updater on the first BATCH training events, split evenly over the ranks (rank r takes
the r-th slice). Writes the averaged gradient and the updated parameters to
OUT/<engine>-np<size>.pt.

The model is in eval mode (z = μ, no dropout) so that the only difference between the runs is
how the batch is split: 2 ranks averaging the gradients of two half-batches must give the
1-rank gradient of the whole batch."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from distributed.runtime import init_rank
from distributed.update import Updater
from gvae.hits import HitGraphOptions
from gvae.loss import LossWeights
from gvae.model import GVAEModelOptions
from gvae.task import GVAEOptions, GVAETask


def main(data: Path, out: Path, batch: int) -> None:
    engine, info = init_rank(seed=0)
    task = GVAETask(
        GVAEOptions(data=data, eval_events=4), HitGraphOptions(), GVAEModelOptions(), LossWeights()
    )
    step_models, optimizers = engine.distributed(task.models, task.optimizers, "none")
    engine.broadcast_state(task.models, optimizers)
    updater = Updater(task.models, step_models, optimizers, engine, None, 0.0)
    model = task.models["gvae"].eval()
    share = batch // info.size
    events = [task.train_set[i] for i in range(info.rank * share, (info.rank + 1) * share)]
    batch_graphs = task.collate(events)
    # This rank's own gradient, without the engine (to show the split matters).
    local = torch.autograd.grad(task.losses(batch_graphs)["total"], list(model.parameters()))
    metrics = task.step(batch_graphs, updater)
    total = engine.allreduce(torch.tensor(metrics["total"])).item()
    if info.rank == 0:
        torch.save(
            {
                "local_grad": torch.cat([g.flatten() for g in local]),
                "grad": torch.cat([p.grad.flatten() for p in model.parameters()]),
                "params": torch.cat([p.detach().flatten() for p in model.parameters()]),
                "total": total,
            },
            out / f"{info.engine}-np{info.size}.pt",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
