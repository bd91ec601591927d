"""Generation CLI and the speed benchmark, on a checkpoint from a real (one-step) training run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from events.jetnet import read_jetnet, read_provenance
from launch.environment import horovod_env
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def checkpoint(gluon_file, tmp_path_factory) -> Path:
    """The checkpoint of a real one-step MPGAN training run."""
    run = tmp_path_factory.mktemp("mpgan") / "run"
    proc = subprocess.run(
        [
            sys.executable, "-m", "distributed.train", "mpgan", "--data", str(gluon_file),
            "--eval-jets", "40", "--steps", "1", "--batch-size", "4", "--no-evaluate",
            "--out", str(run),
        ],
        cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run / "checkpoint.pt"


def test_generate_writes_jetnet_layout(launch, tmp_path, checkpoint):
    out = tmp_path / "generated.h5"
    proc = launch(
        f"python -m mpgan.generate --checkpoint {checkpoint} -n 50 --batch-size 16 --out {out}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"50 jets in .* µs/jet", proc.stdout)
    particles, jets = read_jetnet(out)
    assert particles.shape == (50, 30, 4) and jets.shape == (50, 4)
    mask = particles[..., 3] > 0
    assert np.array_equal(mask.sum(1), jets[:, 3])  # multiplicity in jet_features
    assert (particles[~mask][:, :3] == 0).all()  # masked particles zeroed on export
    assert (jets[:, 0] > 800).all() and (jets[:, 2] >= 0).all()  # pT from real jets, GeV

    bad = launch(f"python -m mpgan.generate --checkpoint {tmp_path / 'no.pt'} --out {out}")
    assert bad.returncode == 2 and "no such checkpoint" in bad.stderr


def test_negative_generated_pt_is_written_as_zero(launch, tmp_path, checkpoint):
    """A generator whose tanh emits pT < 0 (here forced by the last bias) still writes a valid
    JetNet file: those particles get pT = 0, counted in the log and the file's provenance."""
    state = torch.load(checkpoint, weights_only=False)
    last_bias = [k for k in state["models"]["generator"] if k.endswith("bias")][-1]
    state["models"]["generator"][last_bias][2] = -10.0  # tanh → −1: pT = (−1 + 0.5)·0.89 < 0
    torch.save(state, tmp_path / "negative.pt")
    out = tmp_path / "negative.h5"
    proc = launch(
        f"python -m mpgan.generate --checkpoint {tmp_path / 'negative.pt'} -n 20 --out {out}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "have pT < 0: written as pT = 0" in proc.stderr
    particles, _ = read_jetnet(out)
    mask = particles[..., 3] > 0
    assert (particles[..., 2] == 0)[mask].all()  # every real particle had pT < 0
    assert read_provenance(out)["negative_pt_clipped"] == mask.sum()


def test_a_checkpoint_of_another_model_definition_is_refused(tmp_path, checkpoint, capsys):
    """The trainer refuses to resume across a change of ``MODEL_VERSION``; generating from such
    weights would as silently give other jets: refused in one line, nothing written (issue 33,
    row 12, left open for generate and report). The run's own checkpoint is accepted."""
    from mpgan.generate import main as generate
    from mpgan.spec import MODEL_VERSION
    from mpgan.task import MPGANTask

    state = torch.load(checkpoint, weights_only=False)
    assert state["config"]["code"]["model_version"] == MODEL_VERSION
    MPGANTask.from_checkpoint(checkpoint)
    state["config"]["code"]["model_version"] = MODEL_VERSION + 1
    torch.save(state, tmp_path / "other.pt")
    out = tmp_path / "jets.h5"
    assert generate(["--checkpoint", str(tmp_path / "other.pt"), "-n", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"written by model definition {MODEL_VERSION + 1}" in err and err.count("\n") == 1
    assert not out.exists()
