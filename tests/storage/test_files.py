"""Input files that users' trackers report breaking: a damaged compressed chunk, a file cut
short, a file locked by a writer, images stored in the other layout, masked particles holding
values, damaged checkpoints and parquet. Each read either gives the right result or fails in
one line naming the file (and the dataset) and the fix; writes are atomic."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from evaluation.jet_metrics import physical_jets
from events.e2e import read_e2e, write_e2e
from events.jetnet import read_jetnet, write_jetnet
from storage.files import atomic_write, read_checkpoint


def jetnet_arrays(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic JetNet-layout jets: random multiplicities, zero-padded."""
    rng = np.random.default_rng(seed)
    mult = rng.integers(5, 31, n)
    mask = (np.arange(30) < mult[:, None]).astype(np.float32)
    features = rng.normal(0, 0.1, (n, 30, 3)).astype(np.float32)
    features[..., 2] = rng.exponential(0.03, (n, 30))
    particles = np.concatenate([features, mask[..., None]], -1) * mask[..., None]
    jets = np.stack(
        [rng.uniform(800, 1200, n), rng.normal(0, 1, n), rng.uniform(20, 200, n), mult], 1
    )
    return particles, jets.astype(np.float32)


def damage_chunk(path, dataset: str, chunk: int = 1) -> None:
    """Overwrite 64 bytes inside one gzip chunk of ``dataset``."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(chunk)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset + info.size // 2)
        raw.write(b"\xff" * 64)


def test_a_damaged_chunk_is_one_line_naming_file_and_dataset(tmp_path):
    path = tmp_path / "g.hdf5"
    write_jetnet(path, *jetnet_arrays())
    damage_chunk(path, "particle_features")
    with pytest.raises(ValueError) as err:
        read_jetnet(path)
    message = str(err.value)
    assert str(path) in message and "'particle_features'" in message and "damaged" in message
    assert "\n" not in message
    images = np.random.default_rng(1).exponential(1.0, (20, 3, 125, 125)).astype(np.float32)
    labels = {"pt": np.ones(20), "m0": np.ones(20), "y": np.ones(20)}
    e2e = tmp_path / "top.h5"
    write_e2e(e2e, images, labels)
    damage_chunk(e2e, "X_jets", chunk=3)
    with pytest.raises(ValueError, match=r"top.h5: dataset 'X_jets' cannot be read, the file is"):
        read_e2e(e2e)


def test_a_file_cut_short_and_a_damaged_parquet(tmp_path):
    path = tmp_path / "g.hdf5"
    write_jetnet(path, *jetnet_arrays())
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut.hdf5: the file is cut short .*generate it again"):
        read_jetnet(cut)
    images = np.random.default_rng(2).exponential(1.0, (8, 3, 10, 10)).astype(np.float32)
    parquet = tmp_path / "top.parquet"
    write_e2e(parquet, images, {"pt": np.ones(8), "m0": np.ones(8), "y": np.ones(8)})
    data = bytearray(parquet.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 64] = b"\x00" * 64
    parquet.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="top.parquet: cannot be read as parquet"):
        read_e2e(parquet)


@pytest.mark.slow  # starts a writer process
def test_a_file_locked_by_a_writer_says_so_and_how_to_proceed(tmp_path):
    path = tmp_path / "g.hdf5"
    write_jetnet(path, *jetnet_arrays(50))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import h5py, time; f = h5py.File({str(path)!r}, 'a'); "
            "print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(ValueError) as err:
            read_jetnet(path)
        message = str(err.value)
        assert "locked by another process" in message and "HDF5_USE_FILE_LOCKING=FALSE" in message
        assert "not an HDF5 file" not in message
    finally:
        writer.kill()
        writer.wait()
    assert read_jetnet(path)[0].shape == (50, 30, 4)  # the writer gone, the file reads


def test_images_stored_channels_first_in_hdf5_are_read(tmp_path):
    images = np.random.default_rng(3).exponential(1.0, (20, 3, 125, 125)).astype(np.float32)
    path = tmp_path / "cf.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X_jets", data=images)  # [N, 3, H, W]
        f.create_dataset("y", data=np.ones(20))
    back, labels = read_e2e(path)
    assert np.array_equal(back, images) and labels["y"].shape == (20,)
    with h5py.File(tmp_path / "odd.h5", "w") as f:
        f.create_dataset("X_jets", data=np.zeros((2, 125, 4, 125)))
    with pytest.raises(ValueError, match=r"has shape \(2, 125, 4, 125\); expected images"):
        read_e2e(tmp_path / "odd.h5")


def test_masked_particles_holding_values_read_and_measure_as_zero(tmp_path):
    particles, jets = jetnet_arrays(200)
    dirty = particles.copy()
    masked = dirty[..., 3] == 0
    dirty[..., :3][masked] = np.random.default_rng(4).uniform(0.001, 0.01, (masked.sum(), 3))
    write_jetnet(tmp_path / "clean.hdf5", particles, jets)
    with h5py.File(tmp_path / "dirty.hdf5", "w") as f:  # as another tool may write them
        f.create_dataset("particle_features", data=dirty)
        f.create_dataset("jet_features", data=jets)
    assert np.array_equal(read_jetnet(tmp_path / "dirty.hdf5")[0], particles)
    assert np.array_equal(physical_jets(dirty), physical_jets(particles))
    write_jetnet(tmp_path / "rewritten.hdf5", dirty, jets)
    with h5py.File(tmp_path / "rewritten.hdf5") as f:
        assert np.array_equal(f["particle_features"][...], particles)


def test_checkpoints_cut_short_or_not_checkpoints(tmp_path):
    good = tmp_path / "checkpoint.pt"
    atomic_write(good, lambda f: torch.save({"models": {"m": {}}, "step": 3}, f))
    assert read_checkpoint(good)["step"] == 3 and not (tmp_path / "checkpoint.pt.tmp").exists()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:100])
    with pytest.raises(
        ValueError, match=r"cut.pt: not a readable checkpoint, cut short or damaged"
    ):
        read_checkpoint(cut)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "absent.pt")


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "data.bin"
    atomic_write(path, b"old")

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]
