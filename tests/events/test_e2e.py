"""CMS E2E files: parquet and HDF5 round trips, and one clear error per kind of bad file."""

from __future__ import annotations

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from events.e2e import read_e2e, write_e2e


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    images = rng.exponential(1.0, (4, 3, 10, 10)).astype(np.float32)
    images[images < 1.0] = 0.0
    labels = {"pt": np.arange(4.0), "m0": np.arange(4.0) + 170, "y": np.ones(4)}
    return images, labels


@pytest.mark.parametrize("name", ["jets.snappy.parquet", "jets.h5", "jets.hdf5"])
def test_round_trip(tmp_path, sample, name):
    images, labels = sample
    write_e2e(tmp_path / name, images, labels)
    back, back_labels = read_e2e(tmp_path / name)
    assert back.shape == (4, 3, 10, 10) and np.array_equal(back, images)
    assert np.array_equal(back_labels["m0"], labels["m0"])
    assert read_e2e(tmp_path / name, limit=2)[0].shape == (2, 3, 10, 10)


def test_hdf5_variant_is_channels_last(tmp_path, sample):
    write_e2e(tmp_path / "qg.hdf5", *sample)
    with h5py.File(tmp_path / "qg.hdf5") as f:
        assert f["X_jets"].shape == (4, 10, 10, 3)


def test_bad_inputs(tmp_path, sample):
    images, labels = sample
    with pytest.raises(ValueError, match="negative energies"):
        write_e2e(tmp_path / "a.h5", -images - 1, labels)
    bad = images.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        write_e2e(tmp_path / "a.h5", bad, labels)
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        write_e2e(tmp_path / "a.h5", images[:, :2], labels)
    with pytest.raises(ValueError, match="unknown suffix"):
        write_e2e(tmp_path / "a.csv", images, labels)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such E2E file"):
        read_e2e(tmp_path / "absent.parquet")
    pq.write_table(pa.table({"pt": [1.0]}), tmp_path / "nox.parquet")
    with pytest.raises(ValueError, match="missing column 'X_jets'"):
        read_e2e(tmp_path / "nox.parquet")
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f.create_dataset("X_jets", data=np.zeros((2, 10, 10)))
    with pytest.raises(ValueError, match=r"X_jets has shape \(2, 10, 10\); expected images"):
        read_e2e(tmp_path / "flat.h5")
    (tmp_path / "junk.parquet").write_text("junk")
    with pytest.raises(ValueError, match="cannot be read as parquet"):
        read_e2e(tmp_path / "junk.parquet")
