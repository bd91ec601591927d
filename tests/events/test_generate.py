"""The generation CLI: reproducible whatever the number of workers, clean errors."""

from __future__ import annotations

import json

import h5py
import numpy as np

from events.e2e import read_e2e
from events.generate import main
from events.jetnet import read_jetnet


def test_output_does_not_depend_on_workers(tmp_path):
    for workers in (1, 2):
        assert (
            main(
                [
                    "jets",
                    "--jet-type",
                    "g",
                    "-n",
                    "6",
                    "--chunk",
                    "3",
                    "--workers",
                    str(workers),
                    "--seed",
                    "5",
                    "--out",
                    str(tmp_path / f"w{workers}.hdf5"),
                ]
            )
            == 0
        )
    a, b = read_jetnet(tmp_path / "w1.hdf5"), read_jetnet(tmp_path / "w2.hdf5")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == (6, 30, 4)


def test_calorimeter_sample(tmp_path):
    assert (
        main(
            [
                "calorimeter",
                "-n",
                "4",
                "--chunk",
                "2",
                "--workers",
                "1",
                "--out",
                str(tmp_path / "calo.parquet"),
            ]
        )
        == 0
    )
    images, labels = read_e2e(tmp_path / "calo.parquet")
    assert images.shape == (4, 3, 125, 125)
    assert np.all(labels["y"] == 1.0)  # top jets by default
    assert (images[:, 1] > 0).any() and (images[:, 2] > 0).any()


def test_bad_arguments_write_nothing(tmp_path, capsys):
    assert main(["jets", "-n", "5", "--seed", "0", "--out", str(tmp_path / "g.hdf5")]) == 2
    assert main(["jets", "-n", "5", "--out", str(tmp_path / "g.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("events.generate: error: --seed must be in")
    assert "use .hdf5 or .h5" in err[1]
    assert not list(tmp_path.iterdir())


def test_radius_sets_the_jet_cone(tmp_path):
    for name, extra in (("default", []), ("r08", ["--radius", "0.8"])):
        out = tmp_path / f"{name}.hdf5"
        assert (
            main(["jets", "-n", "8", "--workers", "1", "--seed", "3", *extra, "--out", str(out)])
            == 0
        )
    distance = {}
    for name in ("default", "r08"):
        particles, _ = read_jetnet(tmp_path / f"{name}.hdf5")
        real = particles[..., 3] > 0
        distance[name] = np.hypot(particles[..., 0], particles[..., 1])[real].max()
    assert distance["default"] < 0.45 < distance["r08"]  # R = 0.4 by default (JetNet-like)
    with h5py.File(tmp_path / "r08.hdf5") as f:
        settings = json.loads(f.attrs["provenance"])
    assert settings["radius"] == 0.8 and settings["jet_type"] == "g" and settings["seed"] == 3
    assert main(["jets", "-n", "5", "--radius", "0", "--out", str(tmp_path / "x.hdf5")]) == 2
    assert not (tmp_path / "x.hdf5").exists()
