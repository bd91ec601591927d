"""JetNet HDF5 layout: jets as 30-particle clouds, written from Pythia jets or read from JetNet.

Layout (as in the JetNet files ``g.hdf5``, ``q.hdf5``, ``t.hdf5`` of Kansal et al.)::

    particle_features  [N, 30, 4] float32   (ηrel, φrel, pTrel, mask), pT-descending, zero-padded
    jet_features       [N, 4]     float32   (pT [GeV], η, mass [GeV], num_particles)

ηrel = η − η_jet, φrel = φ − φ_jet wrapped to (−π, π], pTrel = pT / pT_jet; ``num_particles`` is
the number of genuine particles among the 30 (JetNet's convention), i.e. min(multiplicity, 30).

Files generated here carry one extra dataset, ``num_constituents`` [N] int32: the jet's full
constituent multiplicity before the 30-particle cut (JetNet files lack it; readers ignore it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import h5py
import numpy as np

from evaluation.jetnet import N_PARTICLES
from events.jet import ETA, PHI, PT, Jet, wrap_phi
from storage.files import atomic_write, open_hdf5, read_dataset

log = logging.getLogger(__name__)
# Far beyond any jet's particles (JetNet's maxima: |ηrel| 1.62, |φrel| 0.52, pTrel 0.89): a real
# particle beyond these is an outlier that would set a per-class maximum by itself.
PLAUSIBLE = {"ηrel": 4.0, "φrel": np.pi, "pTrel": 2.0}

PARTICLE_FEATURES = ("etarel", "phirel", "ptrel", "mask")
JET_FEATURES = ("pt", "eta", "mass", "num_particles")


def jet_arrays(
    jets: Iterable[Jet], n_particles: int = N_PARTICLES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JetNet arrays of ``jets``.

    Returns particle_features [N, n_particles, 4], jet_features [N, 4] and num_constituents [N]
    (multiplicity before the cut).
    """
    particles, jet_rows, multiplicity = [], [], []
    for jet in jets:
        kept = jet.constituents[:n_particles]
        cloud = np.zeros((n_particles, 4), dtype=np.float32)
        cloud[: len(kept), 0] = kept[:, ETA] - jet.eta
        cloud[: len(kept), 1] = wrap_phi(kept[:, PHI] - jet.phi)
        cloud[: len(kept), 2] = kept[:, PT] / jet.pt
        cloud[: len(kept), 3] = 1.0
        particles.append(cloud)
        jet_rows.append((jet.pt, jet.eta, jet.mass, len(kept)))
        multiplicity.append(len(jet.constituents))
    return (
        np.stack(particles),
        np.asarray(jet_rows, dtype=np.float32),
        np.asarray(multiplicity, dtype=np.int32),
    )


def write_jetnet(
    path: Path,
    particle_features: np.ndarray,
    jet_features: np.ndarray,
    num_constituents: np.ndarray | None = None,
    provenance: str | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write a JetNet-layout HDF5 file atomically (:func:`storage.files.atomic_write`), masked
    particles zeroed.

    ``provenance`` (e.g. the generator settings as JSON) is stored as the ``provenance``
    attribute of the file; ``extra`` arrays (one row per jet) as further datasets.
    """
    validate_jetnet(particle_features, jet_features, source=str(path))
    particle_features = zero_masked(particle_features)
    if num_constituents is not None and num_constituents.shape != (len(jet_features),):
        raise ValueError(f"{path}: num_constituents must be [N], got {num_constituents.shape}")
    for name, array in (extra or {}).items():
        if len(array) != len(jet_features):
            raise ValueError(f"{path}: {name} has {len(array)} rows, not one per jet")

    def write(file: BinaryIO) -> None:
        with h5py.File(file, "w") as f:
            f.create_dataset("particle_features", data=particle_features, compression="gzip")
            f.create_dataset("jet_features", data=jet_features, compression="gzip")
            if num_constituents is not None:
                f.create_dataset("num_constituents", data=num_constituents, compression="gzip")
            for name, array in (extra or {}).items():
                f.create_dataset(name, data=array, compression="gzip")
            f.attrs["particle_feature_names"] = list(PARTICLE_FEATURES)
            f.attrs["jet_feature_names"] = list(JET_FEATURES)
            if provenance is not None:
                f.attrs["provenance"] = provenance

    atomic_write(Path(path), write)


def read_jetnet(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a JetNet-layout HDF5 file (generated here or downloaded from JetNet), masked
    particles' features zeroed (:func:`zero_masked`).

    Returns ``(particle_features [N, P, 4], jet_features [N, 4])`` as float32.
    Raises ``FileNotFoundError`` or ``ValueError`` naming the file and the problem (also a file
    cut short, damaged or locked by a writer: :mod:`storage.files`).
    """
    with open_hdf5(path, "JetNet") as f:
        particle_features = read_dataset(f, "particle_features").astype(np.float32)
        jet_features = read_dataset(f, "jet_features").astype(np.float32)
    validate_jetnet(particle_features, jet_features, source=str(path))
    report_outliers(particle_features, str(path))
    return zero_masked(particle_features), jet_features


def report_outliers(particle_features: np.ndarray, source: str) -> None:
    """A warning per particle feature whose real particles lie beyond :data:`PLAUSIBLE`: how
    many jets, the first of them, and the largest value (a generated file of an unbounded
    generator may hold such jets; in training data one sets a per-class maximum)."""
    real = particle_features[..., 3] > 0
    for i, (name, bound) in enumerate(PLAUSIBLE.items()):
        outside = (np.abs(particle_features[..., i]) > bound) & real
        jets = np.flatnonzero(outside.any(axis=1))
        if len(jets):
            largest = np.abs(particle_features[..., i][outside]).max()
            log.warning(
                "%s: %d jet(s) with a particle's |%s| > %g (first: jet %d; largest %.3g): "
                "outliers, which would set a per-class maximum",
                source, len(jets), name, bound, jets[0], largest,
            )  # fmt: skip


def zero_masked(particle_features: np.ndarray) -> np.ndarray:
    """A copy of ``particle_features`` [N, P, 4] whose masked particles (mask 0) are all zero:
    JetNet's convention, which every metric and the training data rely on (a file may hold any
    values in masked slots)."""
    return particle_features * (particle_features[..., 3:] > 0)


def read_provenance(path: Path) -> dict | None:
    """The generator settings a generated file records (``provenance`` attribute), else None."""
    with open_hdf5(path, "JetNet") as f:
        return json.loads(f.attrs["provenance"]) if "provenance" in f.attrs else None


def read_num_constituents(path: Path) -> np.ndarray | None:
    """Multiplicity before the 30-particle cut [N] if ``path`` records it (generated files)."""
    with open_hdf5(path, "JetNet") as f:
        return read_dataset(f, "num_constituents") if "num_constituents" in f else None


def validate_jetnet(particle_features: np.ndarray, jet_features: np.ndarray, source: str) -> None:
    """Check shapes, finiteness and physical ranges (masked slots may hold anything finite);
    raise ``ValueError`` saying what is wrong."""
    if particle_features.ndim != 3 or particle_features.shape[2] != 4:
        raise ValueError(
            f"{source}: particle_features must be [N, particles, 4], got {particle_features.shape}"
        )
    if jet_features.ndim != 2 or jet_features.shape[1] != 4:
        raise ValueError(f"{source}: jet_features must be [N, 4], got {jet_features.shape}")
    if len(particle_features) != len(jet_features):
        raise ValueError(
            f"{source}: {len(particle_features)} particle clouds but {len(jet_features)} jets"
        )
    for name, array in (("particle_features", particle_features), ("jet_features", jet_features)):
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: {name} contains NaN or inf")
    if not np.isin(particle_features[..., 3], (0.0, 1.0)).all():
        raise ValueError(f"{source}: the mask feature must be 0 or 1")
    if (particle_features[..., 2][particle_features[..., 3] > 0] < 0).any():
        raise ValueError(f"{source}: negative pTrel of a particle in particle_features")
    if (jet_features[:, 0] <= 0).any():
        raise ValueError(f"{source}: non-positive jet pT in jet_features")
