"""Run by test_gvae_train.py under horovodrun with 1 and 2 ranks: one GVAE update through the
loop's Updater on the first BATCH training events, split evenly over the ranks (rank r takes
the r-th slice). Writes the averaged gradient and the updated parameters to OUT/np<size>.pt.

The model is in eval mode (z = μ, no dropout) so that the only difference between the runs is
how the batch is split: 2 ranks averaging the gradients of two half-batches must give the
1-rank gradient of the whole batch."""

from __future__ import annotations

import sys
from pathlib import Path

import horovod.torch as hvd
import torch

from distributed.loop import Updater, broadcast_state, distributed_optimizers
from distributed.runtime import init_horovod
from gvae.hits import HitGraphConfig
from gvae.loss import LossWeights
from gvae.model import GVAEConfig
from gvae.task import GVAEData, GVAETask


def main(data: Path, out: Path, batch: int) -> None:
    info = init_horovod(seed=0)
    task = GVAETask(
        GVAEData(data=data, eval_events=4), HitGraphConfig(), GVAEConfig(), LossWeights()
    )
    optimizers = distributed_optimizers(task)
    broadcast_state(task, optimizers)
    updater = Updater(task, optimizers, None, 0.0)
    model = task.models["gvae"].eval()
    share = batch // info.size
    events = [task.train_set[i] for i in range(info.rank * share, (info.rank + 1) * share)]
    batch_graphs = task.collate(events)
    # This rank's own gradient, without Horovod (to show the split matters).
    local = torch.autograd.grad(task.losses(batch_graphs)["total"], list(model.parameters()))
    metrics = task.step(batch_graphs, updater)
    total = hvd.allreduce(torch.tensor(metrics["total"]), name="total").item()
    if info.rank == 0:
        torch.save(
            {
                "local_grad": torch.cat([g.flatten() for g in local]),
                "grad": torch.cat([p.grad.flatten() for p in model.parameters()]),
                "params": torch.cat([p.detach().flatten() for p in model.parameters()]),
                "total": total,
            },
            out / f"np{info.size}.pt",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
