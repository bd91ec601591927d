"""The FPND scan's variant parsing and shape measures, and the generator knobs it turns."""

from __future__ import annotations

import numpy as np
import pytest

from events.fpnd_scan import jet_shape, parse_variant
from events.pythia import JetSourceOptions, make_pythia


def test_variant_sets_typed_fields_and_keeps_the_jet_type():
    cfg = parse_variant("radius=0.5,underlying_event=0,fsr_alpha_s=0.12", "q")
    assert cfg == JetSourceOptions(
        jet_type="q", radius=0.5, underlying_event=False, fsr_alpha_s=0.12
    )


@pytest.mark.parametrize("text", ["radius", "colour=1", "radius=", "underlying_event=yes"])
def test_bad_variant_is_rejected(text):
    with pytest.raises(ValueError):
        parse_variant(text, "g")


def test_generator_knobs_reach_pythia():
    pythia = make_pythia(JetSourceOptions(underlying_event=False, fsr_alpha_s=0.12), seed=1)
    assert not pythia.flag("PartonLevel:MPI")
    assert pythia.parm("TimeShower:alphaSvalue") == pytest.approx(0.12)
    default = make_pythia(JetSourceOptions(), seed=1)
    assert default.flag("PartonLevel:MPI")
    assert default.parm("TimeShower:alphaSvalue") == pytest.approx(0.1365)  # Monash 2013


def test_jet_shape_of_a_known_jet():
    # Two equal massless particles at Δη = ±0.1: m/pT = ΔR·sqrt(z(1−z)) = 0.2·0.5 = 0.1.
    jets = np.zeros((1, 30, 4))
    jets[0, :2] = [[0.1, 0.0, 0.5, 1.0], [-0.1, 0.0, 0.5, 1.0]]
    shape = jet_shape(jets)
    assert shape["eta_rel_q84"] == pytest.approx(0.1)
    assert shape["mass_rel_median"] == pytest.approx(0.1, rel=1e-2)
    assert shape["multiplicity_mean"] == 2
