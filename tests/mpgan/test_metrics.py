"""Jet metrics against closed forms, and ≈ 0 for identical samples."""

from __future__ import annotations

import numpy as np

from mpgan.data import denormalise, normalise
from mpgan.metrics import coverage_mmd, efps, fpd, frechet_distance, jet_mass, kpd, w1


def test_jet_mass_of_two_particles():
    a = 0.3
    jet = np.zeros((1, 30, 4))
    jet[0, 0] = (0.0, a, 0.5, 1)
    jet[0, 1] = (0.0, -a, 0.5, 1)
    jet[0, 2] = (0.4, 0.1, 0.7, 0)  # masked: ignored
    expected = np.sqrt(2 * 0.25 * (1 - np.cos(2 * a)))  # m² = 2 pT1 pT2 (cosh Δη − cos Δφ)
    assert np.isclose(jet_mass(jet)[0], expected)


def test_w1_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000)
    shifted, _ = w1(x, x + 0.3)
    assert abs(shifted - 0.3) < 0.02  # W1 of a shifted copy is the shift (random halves)
    same, _ = w1(x, rng.normal(size=20000))
    assert same < 0.03


def test_frechet_and_kernel_distances():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4000, 4)), rng.normal(size=(4000, 4))
    assert abs(frechet_distance(x, x + 0.5) - 4 * 0.25) < 1e-6  # ‖Δμ‖², same covariance
    assert abs(fpd(x, y)) < 0.02 and abs(kpd(x, y)) < 0.02
    assert fpd(x, y + 0.5) > 0.9 and kpd(x, y + 0.5) > 0.1


def test_normalisation_round_trip_and_efps():
    rng = np.random.default_rng(2)
    jets = np.zeros((3, 30, 4), dtype=np.float32)
    jets[:, :10, :3] = rng.uniform(0.01, 0.3, size=(3, 10, 3))
    jets[:, :10, 3] = 1
    x = normalise(jets)
    assert np.allclose(x[:, 10:, 3], -0.5) and np.allclose(x[:, :10, 3], 0.5)
    assert np.allclose(denormalise(x), jets, atol=1e-6)
    assert efps(jets, "w1efp").shape == (3, 5) and efps(jets, "fpd").shape == (3, 36)


def test_coverage_and_mmd_survive_negative_generated_pt():
    """A generator's tanh can give pT < 0; the EMD metrics clip it instead of failing."""
    rng = np.random.default_rng(0)
    real = np.zeros((20, 30, 4), dtype=np.float32)
    real[:, :10, :2] = rng.normal(0, 0.05, (20, 10, 2))
    real[:, :10, 2] = rng.uniform(0.01, 0.2, (20, 10))
    real[:, :10, 3] = 1.0
    gen = real.copy()
    gen[:, 0, 2] = -0.05
    cov, mmd = coverage_mmd(real, gen, size=10, batches=2)
    assert 0 < cov <= 1 and np.isfinite(mmd)
