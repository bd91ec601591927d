"""JetNet layout: arrays from jets, HDF5 round trip, and one clear error per kind of bad file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from events.jet import Jet
from events.jetnet import (
    jet_arrays,
    read_jetnet,
    read_num_constituents,
    wrap_phi,
    write_jetnet,
)


def make_jet(n_constituents: int, phi_jet: float = 3.1) -> Jet:
    pt = np.linspace(100.0, 1.0, n_constituents)
    eta = np.full(n_constituents, 0.5)
    phi = np.full(n_constituents, -3.1)  # across the ±π seam from the jet axis
    cols = [pt, eta, phi, pt, np.full(n_constituents, 211.0), np.ones(n_constituents)]
    return Jet(pt=pt.sum(), eta=0.4, phi=phi_jet, mass=50.0, constituents=np.stack(cols, 1))


def test_wrap_phi():
    assert np.allclose(
        wrap_phi(np.array([0.0, np.pi, -np.pi, 3 * np.pi / 2, -6.2])),
        [0.0, np.pi, np.pi, -np.pi / 2, -6.2 + 2 * np.pi],
    )


def test_jet_arrays_features_and_padding():
    pf, jf, multiplicity = jet_arrays([make_jet(40), make_jet(12)])
    assert multiplicity.tolist() == [40, 12]  # before the 30-particle cut
    assert pf.shape == (2, 30, 4) and jf.shape == (2, 4)
    assert np.allclose(pf[0, :, 0], 0.1, atol=1e-6)  # ηrel = 0.5 − 0.4
    assert np.allclose(pf[0, :, 1], 2 * np.pi - 6.2, atol=1e-5)  # −3.1 − 3.1 wrapped
    assert jf[0, 3] == 30 and jf[1, 3] == 12  # genuine particles among the 30
    assert pf[1, :, 3].sum() == 12 and np.all(pf[1, 12:] == 0)  # zero-padded
    assert np.isclose(pf[1, :, 2].sum(), 1.0)  # all 12 kept: Σ pTrel = 1


def test_round_trip(tmp_path):
    pf, jf, multiplicity = jet_arrays([make_jet(40), make_jet(5)])
    write_jetnet(tmp_path / "g.hdf5", pf, jf, multiplicity)
    pf2, jf2 = read_jetnet(tmp_path / "g.hdf5")
    assert np.array_equal(pf, pf2) and np.array_equal(jf, jf2)
    assert read_num_constituents(tmp_path / "g.hdf5").tolist() == [40, 5]
    write_jetnet(tmp_path / "jetnet_like.hdf5", pf, jf)  # real JetNet files lack it
    assert read_num_constituents(tmp_path / "jetnet_like.hdf5") is None
    assert not list(tmp_path.glob("*.tmp"))


def write_raw(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"particle_features": np.zeros((2, 30, 4))}, "missing dataset 'jet_features'"),
        (
            {"particle_features": np.zeros((2, 30, 3)), "jet_features": np.ones((2, 4))},
            r"particle_features must be \[N, particles, 4\]",
        ),
        (
            {"particle_features": np.full((2, 30, 4), np.nan), "jet_features": np.ones((2, 4))},
            "NaN or inf",
        ),
        (
            {
                "particle_features": np.concatenate([-np.ones((2, 30, 3)), np.ones((2, 30, 1))], 2),
                "jet_features": np.ones((2, 4)),
            },
            "negative pTrel",
        ),
        (
            {"particle_features": -np.ones((2, 30, 4)), "jet_features": np.ones((2, 4))},
            "the mask feature must be 0 or 1",
        ),
        (
            {"particle_features": np.zeros((3, 30, 4)), "jet_features": np.ones((2, 4))},
            "3 particle clouds but 2 jets",
        ),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, datasets, message):
    path = write_raw(tmp_path / "bad.hdf5", **datasets)
    with pytest.raises(ValueError, match=message) as err:
        read_jetnet(path)
    assert str(path) in str(err.value)


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such JetNet file"):
        read_jetnet(tmp_path / "absent.hdf5")
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        read_jetnet(tmp_path / "text.hdf5")


def test_an_outlier_particle_is_reported_at_load(tmp_path, caplog):
    """A pTrel of 1e30 in otherwise valid jets: reported when the file is read (which feature,
    how many jets, the first, the largest), not silently taken as the class's maximum (issue 33,
    row 7)."""
    particles = np.zeros((3, 30, 4), dtype=np.float32)
    particles[:, :2] = (0.1, 0.05, 0.3, 1.0)
    particles[2, 1, 2] = 1e30
    jets = np.tile(np.float32([1000.0, 0.0, 100.0, 2.0]), (3, 1))
    write_jetnet(tmp_path / "outlier.h5", particles, jets)
    with caplog.at_level("WARNING"):
        read_jetnet(tmp_path / "outlier.h5")
    assert "1 jet(s) with a particle's |pTrel| > 2 (first: jet 2; largest 1e+30)" in caplog.text
