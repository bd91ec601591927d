"""Shared fixtures: launching real Horovod jobs from tests."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from events.e2e import read_e2e, write_e2e
from events.generate import CALORIMETER_RADIUS, calorimeter_chunk, jets_chunk
from events.jetnet import write_jetnet
from events.pythia import JetSourceOptions
from launch.environment import horovod_env

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist (`make test`: a worker per core), each worker computes on one thread: two
    workers with a thread per core each would have 4 threads contend for 2 cores."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that launches processes through :func:`launch` is ``slow`` (``make test-fast``
    leaves them out); tests that start processes otherwise carry the mark themselves."""
    for item in items:
        if "launch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def launch():
    """Run a command from the repository root with the Horovod environment.

    The command is a list or a string (split as a shell would).
    Returns the CompletedProcess; stdout and stderr are captured as text. ``python`` in the
    command is replaced by this interpreter so every rank runs in the same environment.
    """

    def run(cmd: str | list[str], timeout: float = 180) -> subprocess.CompletedProcess:
        parts = shlex.split(cmd) if isinstance(cmd, str) else cmd
        cmd = [sys.executable if part == "python" else part for part in parts]
        return subprocess.run(
            cmd, cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=timeout
        )

    return run


def readme_command(start: str) -> str:
    """The README command that begins with ``start``, its continuation lines joined and its
    trailing comment dropped: tests run the commands users copy."""
    lines = (ROOT / "README.md").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(start):
            parts = [line]
            while parts[-1].split("#")[0].rstrip().endswith("\\"):
                i += 1
                parts.append(lines[i])
            text = " ".join(p.split(" #")[0].rstrip().removesuffix("\\").strip() for p in parts)
            return " ".join(text.split())
    raise AssertionError(f"README.md has no command starting with {start!r}")


@pytest.fixture(scope="session")
def calorimeter_file(tmp_path_factory) -> Path:
    """48 real top-jet events through the detector, as an E2E HDF5 file (about 2 s)."""
    images, labels = calorimeter_chunk(
        JetSourceOptions(jet_type="t", radius=CALORIMETER_RADIUS), 48, seed=11
    )
    path = tmp_path_factory.mktemp("calorimeter") / "top48.h5"
    write_e2e(path, images, dict(zip(("pt", "m0", "y"), labels.T, strict=True)))
    return path


@pytest.fixture(scope="session")
def calorimeter_images(calorimeter_file) -> np.ndarray:
    """The images of :func:`calorimeter_file`: [48, 3, 125, 125]."""
    return read_e2e(calorimeter_file)[0]


@pytest.fixture(scope="session")
def gluon_file(tmp_path_factory) -> Path:
    """120 real Pythia gluon jets in the JetNet layout (about 3 s)."""
    path = tmp_path_factory.mktemp("jets") / "g120.hdf5"
    write_jetnet(path, *jets_chunk(JetSourceOptions(jet_type="g"), 120, seed=5))
    return path


@pytest.fixture(scope="session")
def published_models() -> Path:
    """rkansal47/MPGAN's ``trained_models`` (the published gluon generators; MIT): data files the
    tests read where they lie — ``$LHC_PUBLISHED_MPGAN``, or ``shared/published/MPGAN/
    trained_models`` beside the checkout or beside the local repository it was cloned from (a
    fresh ``git clone .`` elsewhere) — and never copy into the project."""
    beside = [ROOT.parent]
    origin = subprocess.run(
        ["git", "-C", str(ROOT), "remote", "get-url", "origin"], capture_output=True, text=True
    ).stdout.strip()
    if origin and Path(origin).is_dir():  # a clone of a local repository
        beside.append(Path(origin).resolve().parent)
    candidates = [b / "shared" / "published" / "MPGAN" / "trained_models" for b in beside]
    if "LHC_PUBLISHED_MPGAN" in os.environ:
        candidates.insert(0, Path(os.environ["LHC_PUBLISHED_MPGAN"]))
    for path in candidates:
        if (path / "fc_g" / "G_best_epoch.pt").is_file():
            return path
    pytest.skip(f"the published MPGAN generators are not on this machine ({candidates})")
