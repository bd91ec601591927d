"""GVAE shapes, masking, loss terms, and an overfit test judged by EMD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.utils import to_dense_batch

from evaluation.emd import emd
from gvae.hits import HitGraphOptions, hit_batch, image_hits
from gvae.loss import LossWeights, gvae_losses
from gvae.model import GVAE, GVAEModelOptions
from gvae.report import emd_table, reconstruct


def events(images, n):
    return [image_hits(image) for image in images[:n]]


def test_shapes_and_padding_does_not_leak(calorimeter_images):
    torch.manual_seed(0)
    model = GVAE().eval()
    cfg = HitGraphOptions()
    small, large = sorted(events(calorimeter_images, 2), key=len)
    n = min(len(small), cfg.max_nodes)
    assert n < min(len(large), cfg.max_nodes)
    alone, enc = model(hit_batch([small], cfg))
    assert alone.shape == (1, n, 6)
    assert enc.mu.shape == enc.logvar.shape == (1, 8, 16) and enc.s1.shape[-1] == 32
    padded, enc2 = model(hit_batch([small, large], cfg))  # small is now zero-padded
    assert enc2.mask[0].sum() == n and not enc2.mask[0, n:].any()
    assert torch.allclose(padded[0, :n], alone[0], atol=1e-4)
    assert torch.allclose(enc2.mu[0], enc.mu[0], atol=1e-4)


def test_generate_from_template(calorimeter_images):
    model = GVAE().eval()
    template = hit_batch(events(calorimeter_images, 1), HitGraphOptions())
    out = model.generate(template, samples=5)
    assert out.shape == (5, template.num_nodes, 6) and torch.isfinite(out).all()
    assert not torch.allclose(out[0], out[1])  # different prior draws, different events


def test_loss_terms(calorimeter_images):
    torch.manual_seed(0)
    model = GVAE()
    batch = hit_batch(events(calorimeter_images, 4), HitGraphOptions())
    output, enc = model(batch)
    target, _ = to_dense_batch(batch.x, batch.batch)
    losses = gvae_losses(output, target, enc, LossWeights())
    assert all(torch.isfinite(v) for v in losses.values())
    assert -2.0 <= losses["mincut"] <= 0.0 and losses["ortho"] >= 0.0
    perfect = torch.cat([target[..., :3], 50 * target[..., 3:]], -1)  # exact, confident channel
    exact = gvae_losses(
        perfect, target, enc._replace(mu=0 * enc.mu, logvar=0 * enc.logvar), LossWeights()
    )
    for term in ("position", "energy", "energy_linear", "kl", "channel"):
        assert exact[term] < 1e-6, term
    weights = LossWeights(beta=0.5, linear_energy_weight=2.0, mincut_weight=0.3, ortho_weight=0.7)
    losses = gvae_losses(output, target, enc, weights)
    expected = (
        losses["position"]
        + losses["energy"]
        + 2.0 * losses["energy_linear"]
        + losses["channel"]
        + 0.5 * losses["kl"]
        + 0.3 * losses["mincut"]
        + 0.7 * losses["ortho"]
    )
    assert torch.isclose(losses["total"], expected)


def test_batch_loss_is_the_mean_of_its_events_losses(calorimeter_images):
    """Per-event normalisation: the loss (hence the gradient) of a batch is the mean of its
    halves', which is what averaging gradients over two Horovod ranks relies on."""
    model = GVAE().eval()  # z = μ: deterministic
    cfg = HitGraphOptions()

    def losses(hits):
        batch = hit_batch(hits, cfg)
        output, enc = model(batch)
        target, _ = to_dense_batch(batch.x, batch.batch)
        return gvae_losses(output, target, enc, LossWeights())

    hits = events(calorimeter_images, 6)
    whole, first, second = losses(hits), losses(hits[:3]), losses(hits[3:])
    assert len({len(h) for h in hits}) > 1  # events of different hit counts
    for name, value in whole.items():
        assert torch.isclose(value, (first[name] + second[name]) / 2, rtol=1e-5), name


def test_overfit_a_handful_of_events_beats_random_pairs(calorimeter_images):
    """Eight events, 1200 Adam steps (~15 s): reconstruction EMD far below random real pairs.

    The random-pair baseline is the median EMD between the 48 fixture events and other ones.
    Training on so few events is seed-sensitive (within this budget some initialisations stall in
    a poor MinCut assignment); the seed is fixed and CPU training is deterministic.
    """
    torch.manual_seed(1)
    cfg = HitGraphOptions(max_nodes=64)
    fixture = [h[:64] for h in events(calorimeter_images, 48)]
    random_pairs = np.median([emd(fixture[i], fixture[(i + 7) % 48]) for i in range(48)])
    hits = fixture[:8]
    batch = hit_batch(hits, cfg)
    target, _ = to_dense_batch(batch.x, batch.batch)
    model = GVAE(GVAEModelOptions())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[900], gamma=0.1)
    for _ in range(1200):
        output, enc = model(batch)
        loss = gvae_losses(output, target, enc, LossWeights())["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    table = emd_table(reconstruct(model, hits, cfg), np.zeros((0, 4), dtype=np.float32))
    reconstructed = table[table.scope == "all"]["gvae"].median()
    assert reconstructed < 0.3 * random_pairs, (reconstructed, random_pairs)


def test_events_whose_graphs_have_no_edge_train_with_a_finite_loss(calorimeter_images):
    """One hit per sub-detector: the within-channel kNN graphs have no edge. Such events, alone
    or among ordinary ones, give finite losses and gradients (the MinCut term was 0/0)."""
    single = np.zeros((2, 3, 125, 125), np.float32)
    for c in range(3):
        single[:, c, 20 + 10 * c, 30 + 5 * c] = 10.0 + c  # one hit per channel
    cfg = HitGraphOptions()
    lonely = [image_hits(image) for image in single]
    assert hit_batch(lonely, cfg).edge_index.numel() == 0
    torch.manual_seed(0)
    model = GVAE()
    for hits in (lonely, lonely + events(calorimeter_images, 3)):
        batch = hit_batch(hits, cfg)
        output, enc = model(batch)
        target, _ = to_dense_batch(batch.x, batch.batch)
        losses = gvae_losses(output, target, enc, LossWeights())
        assert all(torch.isfinite(v) for v in losses.values()), losses
        model.zero_grad()
        losses["total"].backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_fewer_than_two_evaluation_events_are_refused_at_the_start():
    """One event would pair with itself (a random-pair EMD of 0 GeV), none would crash after
    training: refused before anything runs (issue 33, row 8)."""
    from gvae.task import GVAEOptions

    for events in ({"emd_events": 0}, {"emd_events": 1}, {"eval_events": 1}):
        with pytest.raises(ValueError, match="random-pair EMD baseline needs at least 2 events"):
            GVAEOptions(**events)


def test_a_checkpoint_of_another_model_definition_is_refused_by_the_report(tmp_path):
    """``gvae.report`` reads a checkpoint of this model definition and refuses, in one line, one
    that records another (the trainer's resume refuses it too): its weights would compute
    something else. The checkpoint holds what the trainer writes (models, config, code)."""
    from dataclasses import asdict

    from gvae.model import MODEL_VERSION
    from gvae.report import load_model

    options = GVAEModelOptions()
    state = {
        "models": {"gvae": GVAE(options).state_dict()},
        "config": {
            "model": asdict(options),
            "graphs": asdict(HitGraphOptions()),
            "code": {"commit": "0f0a8d7", "package": "0.1.0", "model_version": MODEL_VERSION},
        },
    }
    torch.save(state, tmp_path / "same.pt")
    model, _, _ = load_model(tmp_path / "same.pt")
    assert isinstance(model, GVAE)
    state["config"]["code"]["model_version"] = MODEL_VERSION + 1
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(
        ValueError, match=rf"written by model definition {MODEL_VERSION + 1} \(commit 0f0a8d7\)"
    ):
        load_model(tmp_path / "other.pt")
