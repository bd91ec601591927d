"""The parametrised detector on hand-made jets: where each particle type lands, and how much."""

from __future__ import annotations

import numpy as np
import pytest

from events.detector import ECAL, HCAL, TRACKS, DetectorOptions, jet_images
from events.jet import Jet


def single(pid: int, charge: float, energy: float, deta: float = 0.0, dphi: float = 0.0) -> Jet:
    row = np.array([[energy, 0.2 + deta, 1.0 + dphi, energy, pid, charge]])
    return Jet(pt=energy, eta=0.2, phi=1.0, mass=0.0, constituents=row)


def images(jet: Jet, **overrides) -> np.ndarray:
    return jet_images(jet, DetectorOptions(**overrides), np.random.default_rng(0))


def test_photon_goes_to_ecal_only():
    x = images(single(22, 0, 50.0))
    assert x[TRACKS].sum() == 0 and x[HCAL].sum() == 0
    assert x[ECAL].sum() == pytest.approx(50.0, rel=0.05)  # smeared, spread over neighbours
    assert np.unravel_index(x[ECAL].argmax(), x[ECAL].shape) == (62, 62)  # centred on the jet


def test_charged_pion_gives_a_track_and_an_upsampled_hcal_tower():
    x = images(single(211, 1, 100.0, deta=0.0174 * 7), track_efficiency=1.0)
    assert x[TRACKS, 69, 62] == pytest.approx(100.0, rel=0.05)
    assert x[ECAL].sum() == 0
    hcal = x[HCAL]
    towers = hcal.reshape(25, 5, 25, 5)
    assert np.all(towers == towers[:, :1, :, :1])  # each tower constant over its 5×5 pixels
    assert np.count_nonzero(hcal) == 25  # one tower, 0.087 = 5 ECAL cells wide
    assert hcal[69, 62] == pytest.approx(100.0, rel=0.5)  # HCAL resolution is coarse


def test_split_hadrons_muons_neutrinos_and_thresholds():
    k0s = images(single(310, 0, 100.0), ecal_spread=0.0)
    assert k0s[ECAL].sum() == pytest.approx(30.0, rel=0.1)
    assert k0s[HCAL].max() == pytest.approx(70.0, rel=0.5)
    for pid in (13, 12):
        assert images(single(pid, -1 if pid == 13 else 0, 100.0), track_efficiency=0.0).sum() == 0
    exact = {"ecal_resolution": (0.0, 0.0, 0.0), "hcal_resolution": (0.0, 0.0), "ecal_spread": 0.0}
    assert images(single(22, 0, 0.45), **exact).sum() == 0  # below the 0.5 GeV ECAL threshold
    assert images(single(22, 0, 0.55), **exact).sum() == pytest.approx(0.55)
    assert images(single(130, 0, 0.9), **exact).sum() == 0  # below the 1 GeV HCAL threshold


def test_ecal_cells_are_finer_than_hcal_towers():
    cfg = DetectorOptions()
    assert cfg.hcal_tower == pytest.approx(0.087)
    assert cfg.ecal_cell < cfg.hcal_tower
    with pytest.raises(ValueError, match="multiple"):
        DetectorOptions(image_size=124)
