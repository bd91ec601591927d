"""MPGANTask: the published training iterations; the evaluation sample (fixed noise, training's
RNG stream untouched)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from distributed.update import Updater
from mpgan.model import MPGANModelOptions
from mpgan.task import MPGANOptions, MPGANTask
from tests.mpgan.test_model import published_discriminator


def test_seeded_generation_repeats_and_leaves_the_global_rng_alone(gluon_file):
    task = MPGANTask(MPGANOptions(data=gluon_file, eval_jets=40), MPGANModelOptions())
    torch.manual_seed(1)
    expected_next = torch.rand(3)
    torch.manual_seed(1)
    first, second = task.generate(25, seed=0), task.generate(25, seed=0)
    np.testing.assert_array_equal(first, second)
    assert torch.equal(torch.rand(3), expected_next)  # as if generate had not run
    assert not np.array_equal(task.generate(25), task.generate(25))  # unseeded: fresh noise


class OneProcess:
    """The engine operations the loop's Updater calls, for one process without a launcher."""

    def finish_gradients(self, optimizer):  # one process: the gradients are the average
        pass

    def optimizer_step(self, optimizer, scaler):
        scaler.step(optimizer)


def test_published_training_iterations_are_the_published_codes(gluon_file):
    """Three fp32 training iterations of ``--implementation published`` through the loop's
    update path equal, bit for bit, the published ``train.py`` iterations (``train_D``: D(real),
    noise, G, D(fake); ``train_G``: noise, G, D(fake); least squares; RMSprop), with the
    published discriminator restated from its structure (dropout 0.5 after every Linear)."""
    task = MPGANTask(
        MPGANOptions(data=gluon_file, eval_jets=40), MPGANModelOptions(implementation="published")
    )
    generator, discriminator = task.models["generator"], task.models["discriminator"]
    g_ref, d_ref = copy.deepcopy(generator), copy.deepcopy(discriminator)
    opt_g = torch.optim.RMSprop(g_ref.parameters(), lr=task.optimizers["generator"].defaults["lr"])
    opt_d = torch.optim.RMSprop(
        d_ref.parameters(), lr=task.optimizers["discriminator"].defaults["lr"]
    )
    updater = Updater(task.models, task.models, task.optimizers, OneProcess(), None, 0.0)
    batches = [
        task.collate([task.train_set[i] for i in range(24 * k, 24 * k + 24)]) for k in (0, 1, 2)
    ]

    torch.manual_seed(12)
    ours = [task.step(batch, updater) for batch in batches]

    torch.manual_seed(12)
    for (real, _), losses in zip(batches, ours, strict=True):
        n = real[..., 3].gt(0).sum(1)
        opt_d.zero_grad()  # train_D
        score_real = published_discriminator(d_ref, real, 0.5)
        fake = g_ref(torch.randn(len(n), 30, 32) * 0.2, n)
        score_fake = published_discriminator(d_ref, fake, 0.5)
        loss_d = F.mse_loss(score_real, torch.ones_like(score_real)) + F.mse_loss(
            score_fake, torch.zeros_like(score_fake)
        )
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()  # train_G
        score = published_discriminator(d_ref, g_ref(torch.randn(len(n), 30, 32) * 0.2, n), 0.5)
        loss_g = F.mse_loss(score, torch.ones_like(score))
        loss_g.backward()
        opt_g.step()
        assert (losses["loss_d"], losses["loss_g"]) == (loss_d.item(), loss_g.item())
    for ours_model, reference in ((generator, g_ref), (discriminator, d_ref)):
        for p, q in zip(ours_model.parameters(), reference.parameters(), strict=True):
            assert torch.equal(p, q)


def test_metric_jets_caps_every_draw_and_refuses_too_few(gluon_file):
    """--metric-jets N: the evaluation's metrics draw at most N jets (here the 20 held-out ones
    against as many others), the run records N; fewer than 4 is a one-line error."""
    with pytest.raises(ValueError, match="--metric-jets: metric draws need at least 4 jets, got 3"):
        MPGANOptions(data=gluon_file, metric_jets=3)
    task = MPGANTask(
        MPGANOptions(data=gluon_file, eval_jets=40, metric_jets=12), MPGANModelOptions()
    )
    result = task.evaluate()
    assert result["metric_jets"] == 12 and result["eval_samples"] == 20
    assert 0 <= result["cov"] <= 1 and result["fpd"] == result["fpd"]  # computed, not NaN
