"""MPGANTask: the published training iterations; the evaluation sample (fixed noise, training's
RNG stream untouched)."""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from distributed.update import Updater
from evaluation.jet_metrics import degenerate_jets
from events.jetnet import read_jetnet, write_jetnet
from mpgan.model import MPGANModelOptions
from mpgan.rows import ROWS
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


@pytest.mark.parametrize("directory", ["fcmp", "graphcnnpnet", "treeganfc"])
def test_wgan_rows_train_as_the_published_code(directory, gluon_file):
    """Seven training iterations of a WGAN-GP row (``--implementation published``) through the
    loop's update path equal the published ``train.py`` iterations restated: ``train_D`` with
    D(real), noise from ``Normal(0, 0.2)``, G **in eval mode** (GraphCNN's BatchNorm: running
    statistics, not updated), D(fake), −D(real) + D(fake) + the gradient penalty on a detached
    interpolation (α ~ U(0, 1) per jet, the norm over the jet's 3N features + 1e-12); ``train_G``
    at batches 1 and 6 (``(batch_ndx − 1) % 5 == 0``) in training mode; Adam with the coupled
    L2 decay 5e-4 or RMSprop. The jets carry the mask feature, which these discriminators do not
    read (the published rows dropped it), so its gradient is 0 and the penalty's norm is the one
    over the 3N features."""
    row = next(r for r in ROWS if r.directory == directory)
    data, model = row.task_options("g")
    task = MPGANTask(
        MPGANOptions(data=gluon_file, eval_jets=40, **data),
        MPGANModelOptions(implementation="published", **model),
    )
    generator, discriminator = task.models["generator"], task.models["discriminator"]
    g_ref, d_ref = copy.deepcopy(generator), copy.deepcopy(discriminator)
    lr = 1e-4  # both networks, every WGAN row
    if row.optimizer == "adam":
        betas = tuple(float(b) for b in row.betas.split(","))
        opt_g = torch.optim.Adam(g_ref.parameters(), lr=lr, betas=betas, weight_decay=5e-4)
        opt_d = torch.optim.Adam(d_ref.parameters(), lr=lr, betas=betas, weight_decay=5e-4)
    else:
        opt_g = torch.optim.RMSprop(g_ref.parameters(), lr=lr)
        opt_d = torch.optim.RMSprop(d_ref.parameters(), lr=lr)
    updater = Updater(task.models, task.models, task.optimizers, OneProcess(), None, 0.0)
    batches = [task.collate([task.train_set[i] for i in range(8 * k, 8 * k + 8)]) for k in range(7)]

    torch.manual_seed(13)
    ours = []
    for index, batch in enumerate(batches):
        updater.batch_index = index
        ours.append(task.step(batch, updater))

    torch.manual_seed(13)
    noise = torch.distributions.Normal(torch.tensor(0.0), torch.tensor(0.2))
    for index, ((real, _), losses) in enumerate(zip(batches, ours, strict=True)):
        d_ref.train()  # train_D
        opt_d.zero_grad()
        g_ref.eval()
        score_real = d_ref(real.clone())
        fake = g_ref(noise.sample((len(real), *g_ref.noise_shape)), None)
        score_fake = d_ref(fake)
        loss_d = -score_real.mean() + score_fake.mean()
        alpha = torch.rand(len(real), 1, 1).expand_as(real)
        mixed = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
        prob = d_ref(mixed)
        (gradients,) = torch.autograd.grad(
            prob, mixed, torch.ones(prob.size()), create_graph=True, retain_graph=True
        )
        norm = torch.sqrt(torch.sum(gradients.view(len(real), -1) ** 2, dim=1) + 1e-12)
        loss_d = loss_d + 10 * ((norm - 1) ** 2).mean()
        loss_d.backward()
        opt_d.step()
        assert losses["loss_d"] == loss_d, f"D at batch {index}"
        if (index - 1) % 5 == 0:  # train_G
            g_ref.train()
            opt_g.zero_grad()
            z = noise.sample((len(real), *g_ref.noise_shape))
            loss_g = -d_ref(g_ref(z, None)).mean()
            loss_g.backward()
            opt_g.step()
            assert losses["loss_g"] == loss_g, f"G at batch {index}"
        else:
            assert "loss_g" not in losses
    for ours_model, reference in ((generator, g_ref), (discriminator, d_ref)):
        ours_state, reference_state = ours_model.state_dict(), reference.state_dict()
        for name, p in ours_state.items():
            assert torch.equal(p, reference_state[name]), name  # the BatchNorm statistics too


def test_report_of_one_particle_jets_does_not_crash(tmp_path):
    """Jets of one particle each have every EFP 0: the report says so instead of failing after
    training (issue 33, row 9)."""
    from mpgan.jet_report import plot_distributions

    jets = np.zeros((50, 30, 4), dtype=np.float32)
    jets[:, 0] = (0.0, 0.0, 1.0, 1.0)
    jets[:, 0, 0] = np.linspace(-0.1, 0.1, 50)
    plot_distributions(jets, jets.copy(), tmp_path / "distributions.png")
    assert (tmp_path / "distributions.png").stat().st_size > 0


def test_generated_jets_off_the_real_range_are_drawn_at_its_edges(gluon_file, tmp_path):
    """The bins span the real values; a generator whose jets all lie beyond them (here every
    angle ×20: ηrel, φrel, m/pT and the EFPs off the chart) drew nothing and read as "no
    difference" (a collapsed MPGAN's EFPs, docs/mpgan_training). Now each panel shows the
    generated sample in its edge bins."""
    from mpgan.jet_report import plot_distributions

    particles, _ = read_jetnet(gluon_file)
    wide = particles.copy()
    wide[..., :2] *= 20.0
    fig = plot_distributions(particles, wide, tmp_path / "distributions.png")
    assert len(fig.axes) == 9
    for ax in fig.axes:
        real, generated = (patch.get_xy()[:, 1].max() for patch in ax.patches)
        assert real > 0 and generated > 0, ax.get_xlabel()


def test_held_out_jets_that_cannot_be_judged_are_flagged_in_one_line(gluon_file, tmp_path, caplog):
    """User report row 9: held-out jets all identical gave a real-vs-real COV of 0.02 reported
    as a baseline (it reads as mode collapse), with no warning; jets of one particle each give
    jet masses of 0 and degenerate EFPs. Both are now said in one line when the task is built;
    real jets are not flagged."""
    particles, features = read_jetnet(gluon_file)
    assert degenerate_jets(particles) == ""
    copies, single = tmp_path / "copies.hdf5", tmp_path / "single.hdf5"
    write_jetnet(copies, np.repeat(particles[:1], 120, 0), np.repeat(features[:1], 120, 0))
    one = particles.copy()
    one[:, 1:] = 0.0
    write_jetnet(single, one, features)
    for path, expected in (
        (copies, "only 1 of 40 jets are distinct"),
        (single, "no jet has two particles"),
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            MPGANTask(MPGANOptions(data=path, eval_jets=40), MPGANModelOptions())
        (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert line.startswith(f"{path}: the held-out jets cannot be judged: {expected}"), line
