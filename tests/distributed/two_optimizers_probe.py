"""Run under horovodrun by test_mpgan_train.py: one GAN generator phase and one discriminator
phase through the loop's Updater; each rank writes what changed to OUT/rank<r>.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import horovod.torch as hvd
import torch

from distributed.loop import Updater, broadcast_state, distributed_optimizers
from distributed.runtime import init_horovod
from mpgan.model import MPGANConfig
from mpgan.task import MPGANData, MPGANTask


def flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def main(data: Path, out: Path) -> None:
    info = init_horovod(seed=0)
    task = MPGANTask(MPGANData(data=data, eval_jets=20, lr_generator=1e-3), MPGANConfig())
    optimizers = distributed_optimizers(task)
    broadcast_state(task, optimizers)
    updater = Updater(task, optimizers, None, 0.0)
    generator, discriminator = task.models["generator"], task.models["discriminator"]
    real = torch.stack([task.train_set[i] for i in range(4 * info.rank, 4 * info.rank + 4)])
    n = real[..., 3].gt(0).sum(1)

    g0, d0 = flat(generator), flat(discriminator)
    with updater("generator") as update:  # the loss back-propagates through D
        update((discriminator(generator.sample(n)) - 1).square().mean())
    g1, d1 = flat(generator), flat(discriminator)
    with updater("discriminator") as update:
        loss = (discriminator(real) - 1).square().mean()
        update(loss + discriminator(generator.sample(n).detach()).square().mean())
    g2, d2 = flat(generator), flat(discriminator)

    spread = [
        float((hvd.allreduce(t, op=hvd.Max) - hvd.allreduce(t, op=hvd.Min)).abs().max())
        for t in (g1, d2)
    ]
    result = {
        "g_phase_changed_g": bool((g1 != g0).any()),
        "g_phase_changed_d": bool((d1 != d0).any()),
        "d_phase_changed_d": bool((d2 != d1).any()),
        "d_phase_changed_g": bool((g2 != g1).any()),
        "requires_grad_restored": all(
            p.requires_grad for m in task.models.values() for p in m.parameters()
        ),
        "spread_g": spread[0],
        "spread_d": spread[1],
    }
    (out / f"rank{info.rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
