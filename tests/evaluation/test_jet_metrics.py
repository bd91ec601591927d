"""The jet metrics are jetnet 0.2.5's: the same numbers as jetnet's own functions called as its
documentation says, on real Pythia gluon vs light-quark jets, at sizes that differ from jetnet's
defaults in every field (so each is passed on); the default sizes are jetnet's; reproducible by
seed."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from jetnet import utils as jetnet_utils
from jetnet.evaluation import gen_metrics

from evaluation.jet_metrics import (
    MetricSizes,
    efps,
    jet_metrics,
    relative_jet_mass,
    seeded_jetnet,
)
from events.generate import jets_chunk
from events.pythia import JetSourceOptions


@pytest.fixture(scope="module")
def gluons_and_quarks() -> tuple[np.ndarray, np.ndarray]:
    """300 real Pythia gluon and 300 light-quark jets [300, 30, 4] (about 10 s)."""
    return tuple(jets_chunk(JetSourceOptions(jet_type=t), 300, seed=31)[0] for t in ("g", "q"))


def test_jet_mass_of_two_particles_and_as_jetnet():
    a = 0.3
    jet = np.zeros((1, 30, 4))
    jet[0, 0] = (0.0, a, 0.5, 1)
    jet[0, 1] = (0.0, -a, 0.5, 1)
    jet[0, 2] = (0.4, 0.1, 0.7, 0)  # masked: ignored
    expected = np.sqrt(2 * 0.25 * (1 - np.cos(2 * a)))  # m² = 2 pT1 pT2 (cosh Δη − cos Δφ)
    assert np.isclose(relative_jet_mass(jet)[0], expected)
    rng = np.random.default_rng(0)
    jets = np.zeros((50, 30, 3))
    jets[:, :20] = rng.uniform((-0.4, -0.4, 0.001), (0.4, 0.4, 0.2), (50, 20, 3))
    reference = jetnet_utils.jet_features(jets)["mass"]
    assert np.allclose(relative_jet_mass(jets), reference, rtol=1e-6, atol=1e-9)


def _jetnet_seeded(seed: int, metric, *args, **kwargs):
    """A jetnet metric with its module generator set to ``default_rng(seed)`` (then restored)."""
    saved = gen_metrics.rng
    gen_metrics.rng = np.random.default_rng(seed)
    try:
        return metric(*args, **kwargs)
    finally:
        gen_metrics.rng = saved


def test_default_sizes_are_jetnets_protocol():
    """MetricSizes() is what jetnet's functions do when called with their defaults."""
    sizes = MetricSizes()

    def default(metric, name):
        return inspect.signature(metric).parameters[name].default

    assert (sizes.w1_jets, sizes.w1_batches) == (50_000, 5)
    for metric in (gen_metrics.w1m, gen_metrics.w1p, gen_metrics.w1efp):
        assert default(metric, "num_eval_samples") == sizes.w1_jets
        assert default(metric, "num_batches") == sizes.w1_batches
    assert default(gen_metrics.cov_mmd, "num_eval_samples") == sizes.cov_jets
    assert default(gen_metrics.cov_mmd, "num_batches") == sizes.cov_batches
    fpd = ("min_samples", "max_samples")
    assert tuple(default(gen_metrics.fpd, name) for name in fpd) == sizes.fpd_jets
    assert default(gen_metrics.fpd, "num_batches") == sizes.fpd_batches
    assert default(gen_metrics.fpd, "num_points") == sizes.fpd_points
    assert default(gen_metrics.kpd, "batch_size") == sizes.kpd_jets
    assert default(gen_metrics.kpd, "num_batches") == sizes.kpd_batches
    assert MetricSizes.at_most(0) == sizes and "(jetnet's protocol)" in str(sizes)
    small = MetricSizes.at_most(40)
    assert (small.w1_jets, small.fpd_jets, small.kpd_jets, small.cov_jets) == (40, (20, 40), 40, 40)
    assert (small.w1_batches, small.kpd_batches, small.fpd_points) == (5, 10, 10)
    assert MetricSizes.at_most(10**6) == sizes
    with pytest.raises(ValueError, match="at least 4 jets"):
        MetricSizes.at_most(3)


# Every size unlike jetnet's default (and small): a size that jet_metrics did not pass on would
# give other numbers than jetnet's below.
SIZES = MetricSizes(
    w1_jets=2000, w1_batches=3, fpd_jets=(200, 500), fpd_batches=7, fpd_points=4,
    kpd_jets=300, kpd_batches=6, cov_jets=30, cov_batches=4,
)  # fmt: skip


def test_metrics_are_jetnets_on_gluons_vs_quarks(gluons_and_quarks):
    g, q = gluons_and_quarks
    ours = jet_metrics(g, q, seed=3, sizes=SIZES)
    g3, q3, g_mask, q_mask = g[..., :3], q[..., :3], g[..., 3] > 0, q[..., 3] > 0
    w1 = {"num_eval_samples": 2000, "num_batches": 3}

    # Called as jetnet's documentation says, with its generator seeded as ours: identical.
    w1m, w1m_err = _jetnet_seeded(3, gen_metrics.w1m, g3, q3, **w1)
    assert (ours["w1m"], ours["w1m_err"]) == (w1m, w1m_err)
    w1p, _ = _jetnet_seeded(3, gen_metrics.w1p, g3, q3, g_mask, q_mask, **w1)
    assert ours["w1p"] == np.mean(w1p)
    w1efp, _ = _jetnet_seeded(3, gen_metrics.w1efp, g3, q3, **w1)
    assert ours["w1efp"] == pytest.approx(np.mean(w1efp), rel=1e-12)
    cov_mmd = _jetnet_seeded(3, gen_metrics.cov_mmd, g3, q3, num_eval_samples=30, num_batches=4)
    assert (ours["cov"], ours["mmd"]) == cov_mmd
    features = [gen_metrics.get_fpd_kpd_jet_features(j) for j in (g3, q3)]
    fpd = gen_metrics.fpd(*features, 200, 500, num_batches=7, num_points=4, seed=3)
    assert (ours["fpd"], ours["fpd_err"]) == fpd
    kpd = gen_metrics.kpd(*features, num_batches=6, batch_size=300, seed=3)
    assert (ours["kpd"], ours["kpd_err"]) == kpd

    # jetnet as a user calls it, unseeded (W1s) or with its default seed (FPD, KPD): the
    # project's numbers agree within jetnet's error.
    for name, (value, error) in {
        "w1m": gen_metrics.w1m(g3, q3, **w1),
        "fpd": gen_metrics.fpd(*features, 200, 500, num_batches=7, num_points=4),
        "kpd": gen_metrics.kpd(*features, num_batches=6, batch_size=300),
    }.items():
        assert abs(ours[name] - value) < 5 * np.hypot(error, ours[f"{name}_err"]), name
    # Gluon and quark jets differ by many errors; real jets have no negative FPD.
    assert ours["fpd"] > 5 * ours["fpd_err"] and ours["w1m"] > 5 * ours["w1m_err"]


def test_seed_reproduces_and_leaves_jetnets_generator_alone(gluons_and_quarks):
    g, q = gluons_and_quarks
    bent = q[:150].copy()
    bent[:, 0, 2] = -0.05  # a generator's tanh can give pT < 0: clipped for COV/MMD only
    generator = gen_metrics.rng
    first = jet_metrics(g[:150], bent, seed=1, sizes=SIZES)
    assert gen_metrics.rng is generator
    assert set(first) >= {"w1m", "w1m_err", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd"}
    assert 0 < first["cov"] <= 1 and np.isfinite(first["mmd"])
    assert jet_metrics(g[:150], bent, seed=1, sizes=SIZES) == first
    # The real-vs-real baseline (two halves of the gluons) is far below gluons vs quarks.
    baseline = jet_metrics(g[:150], g[150:300], seed=1, sizes=SIZES)
    assert baseline["w1m"] < first["w1m"] / 3 and baseline["fpd"] < first["fpd"] / 3
    with seeded_jetnet(2):
        assert gen_metrics.w1m(g[:150, :, :3], bent[..., :3], 2000, 3)[0] != first["w1m"]
    assert efps(bent[:5], "w1efp").shape == (5, 5) and efps(bent[:5]).shape == (5, 36)
