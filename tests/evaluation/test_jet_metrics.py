"""The jet metrics are jetnet 0.2.5's: the same numbers as jetnet's own functions called as its
documentation says, on real Pythia gluon vs light-quark jets; reproducible by seed."""

from __future__ import annotations

import numpy as np
import pytest
from jetnet import utils as jetnet_utils
from jetnet.evaluation import gen_metrics

from evaluation.jet_metrics import efps, jet_metrics, relative_jet_mass, seeded_jetnet
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


@pytest.mark.slow  # jetnet's full protocol, about a minute
def test_metrics_are_jetnets_on_gluons_vs_quarks(gluons_and_quarks):
    g, q = gluons_and_quarks
    ours = jet_metrics(g, q, seed=3)
    g3, q3, g_mask, q_mask = g[..., :3], q[..., :3], g[..., 3] > 0, q[..., 3] > 0

    # Called as jetnet's documentation says, with its generator seeded as ours: identical.
    w1m, w1m_err = _jetnet_seeded(3, gen_metrics.w1m, g3, q3)
    assert (ours["w1m"], ours["w1m_err"]) == (w1m, w1m_err)
    w1p, _ = _jetnet_seeded(3, gen_metrics.w1p, g3, q3, g_mask, q_mask)
    assert ours["w1p"] == np.mean(w1p)
    w1efp, _ = _jetnet_seeded(3, gen_metrics.w1efp, g3, q3)
    assert ours["w1efp"] == pytest.approx(np.mean(w1efp), rel=1e-12)
    assert (ours["cov"], ours["mmd"]) == _jetnet_seeded(3, gen_metrics.cov_mmd, g3, q3)
    features = [gen_metrics.get_fpd_kpd_jet_features(j) for j in (g3, q3)]
    assert (ours["fpd"], ours["fpd_err"]) == gen_metrics.fpd(*features, seed=3)
    assert (ours["kpd"], ours["kpd_err"]) == gen_metrics.kpd(*features, seed=3)

    # jetnet as a user calls it, unseeded (W1s) or with its default seed (FPD, KPD): the
    # project's numbers agree within jetnet's error.
    for name, (value, error) in {
        "w1m": gen_metrics.w1m(g3, q3),
        "fpd": gen_metrics.fpd(*features),
        "kpd": gen_metrics.kpd(*features),
    }.items():
        assert abs(ours[name] - value) < 5 * np.hypot(error, ours[f"{name}_err"]), name
    # Gluon and quark jets differ by many errors; real jets have no negative FPD.
    assert ours["fpd"] > 5 * ours["fpd_err"] and ours["w1m"] > 5 * ours["w1m_err"]


@pytest.mark.slow  # three full metric sets
def test_seed_reproduces_and_leaves_jetnets_generator_alone(gluons_and_quarks):
    g, q = gluons_and_quarks
    bent = q[:150].copy()
    bent[:, 0, 2] = -0.05  # a generator's tanh can give pT < 0: clipped for COV/MMD only
    generator = gen_metrics.rng
    first = jet_metrics(g[:150], bent, seed=1)
    assert gen_metrics.rng is generator
    assert set(first) >= {"w1m", "w1m_err", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd"}
    assert 0 < first["cov"] <= 1 and np.isfinite(first["mmd"])
    assert jet_metrics(g[:150], bent, seed=1) == first
    # The real-vs-real baseline (two halves of the gluons) is far below gluons vs quarks.
    baseline = jet_metrics(g[:150], g[150:300], seed=1)
    assert baseline["w1m"] < first["w1m"] / 3 and baseline["fpd"] < first["fpd"] / 3
    with seeded_jetnet(2):
        assert gen_metrics.w1m(g[:150, :, :3], bent[..., :3])[0] != first["w1m"]
    assert efps(bent[:5], "w1efp").shape == (5, 5) and efps(bent[:5]).shape == (5, 36)
