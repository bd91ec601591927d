"""Run by test_mpgan_train.py under horovodrun and torchrun: one GAN generator phase and one
discriminator phase through the loop's Updater, the models called as the MPGAN task calls them;
each rank writes what changed to OUT/rank<r>.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from distributed.runtime import init_rank
from distributed.update import Updater
from mpgan.model import MPGANModelOptions
from mpgan.task import MPGANOptions, MPGANTask


def flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def main(data: Path, out: Path) -> None:
    engine, info = init_rank(seed=0)
    task = MPGANTask(MPGANOptions(data=data, eval_jets=20, lr_generator=1e-3), MPGANModelOptions())
    step_models, optimizers = engine.distributed(task.models, task.optimizers, "none")
    engine.broadcast_state(task.models, optimizers)
    updater = Updater(task.models, step_models, optimizers, engine, None, 0.0)
    generator, discriminator = task.models["generator"], task.models["discriminator"]
    real, _ = task.collate([task.train_set[i] for i in range(4 * info.rank, 4 * info.rank + 4)])
    n = real[..., 3].gt(0).sum(1)

    g0, d0 = flat(generator), flat(discriminator)
    d_grads = [None if p.grad is None else p.grad.clone() for p in discriminator.parameters()]
    with updater("generator") as g:  # the loss back-propagates through D
        fake = g.model(generator.noise(len(n)), n)
        g.update((discriminator(fake) - 1).square().mean())
    g1, d1 = flat(generator), flat(discriminator)
    d_gradients = any(  # D's gradients were neither computed nor accumulated by the G loss
        (p.grad is not None) if g is None else not torch.equal(p.grad, g)
        for p, g in zip(discriminator.parameters(), d_grads, strict=True)
    )
    with updater("discriminator") as d:
        loss = (d.model(real) - 1).square().mean()
        d.update(loss + d.model(generator.sample(n).detach()).square().mean())
    g2, d2 = flat(generator), flat(discriminator)

    spread = [
        float((engine.allreduce(t, "max") - engine.allreduce(t, "min")).abs().max())
        for t in (g1, d2)
    ]
    result = {
        "g_phase_changed_g": bool((g1 != g0).any()),
        "g_phase_changed_d": bool((d1 != d0).any()),
        "g_phase_changed_d_gradients": d_gradients,
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
