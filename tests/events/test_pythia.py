"""Pythia 8 + FastJet jets: the physics of a few events per class."""

from __future__ import annotations

import numpy as np
import pytest

from events.jet import CHARGE, PID, PT
from events.pythia import JetSourceOptions, generate_jets


@pytest.fixture(scope="module")
def jets():
    return {t: list(generate_jets(JetSourceOptions(jet_type=t), 30, seed=7)) for t in "gqt"}


def test_leading_jets_in_window_with_sorted_constituents(jets):
    for sample in jets.values():
        assert len(sample) == 30
        for jet in sample:
            assert 800 < jet.pt < 1600
            pts = jet.constituents[:, PT]
            assert np.all(np.diff(pts) <= 0)  # pT-descending
            assert not np.isin(np.abs(jet.constituents[:, PID]), (12, 14, 16)).any()
            assert set(np.unique(jet.constituents[:, CHARGE])) <= {-2, -1, 0, 1, 2}


def test_constituent_pt_adds_up_to_the_jet(jets):
    # Σ pT_i / pT_jet ≈ 1 before any particle cut (scalar sum ≥ vector sum, by a little).
    ratios = [jet.constituents[:, PT].sum() / jet.pt for sample in jets.values() for jet in sample]
    assert 0.99 < np.median(ratios) < 1.03


def test_top_jets_are_heavier_than_gluon_and_quark_jets(jets):
    mass = {t: np.median([jet.mass for jet in sample]) for t, sample in jets.items()}
    assert mass["t"] > mass["g"] > mass["q"]
    # The top peak, pulled low by tops the R = 0.4 cone contains only partly (median ≈ 159 GeV
    # at R = 0.4, ≈ 188 GeV at R = 0.8 in 60 jets).
    assert 140 < mass["t"] < 230


def test_same_seed_same_jets_other_seed_other_jets():
    cfg = JetSourceOptions(jet_type="q")
    a = [j.constituents for j in generate_jets(cfg, 3, seed=11)]
    b = [j.constituents for j in generate_jets(cfg, 3, seed=11)]
    c = [j.constituents for j in generate_jets(cfg, 3, seed=12)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="jet_type"):
        JetSourceOptions(jet_type="w")
