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
from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np

from events.jet import ETA, PHI, PT, Jet

N_PARTICLES = 30
PARTICLE_FEATURES = ("etarel", "phirel", "ptrel", "mask")
JET_FEATURES = ("pt", "eta", "mass", "num_particles")


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles to (−π, π]."""
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


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
    """Write a JetNet-layout HDF5 file atomically (temporary file, then rename).

    ``provenance`` (e.g. the generator settings as JSON) is stored as the ``provenance``
    attribute of the file; ``extra`` arrays (one row per jet) as further datasets.
    """
    validate_jetnet(particle_features, jet_features, source=str(path))
    if num_constituents is not None and num_constituents.shape != (len(jet_features),):
        raise ValueError(f"{path}: num_constituents must be [N], got {num_constituents.shape}")
    for name, array in (extra or {}).items():
        if len(array) != len(jet_features):
            raise ValueError(f"{path}: {name} has {len(array)} rows, not one per jet")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
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
    tmp.replace(path)


def read_jetnet(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a JetNet-layout HDF5 file (generated here or downloaded from JetNet).

    Returns ``(particle_features [N, P, 4], jet_features [N, 4])`` as float32.
    Raises ``FileNotFoundError`` or ``ValueError`` naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such JetNet file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not an HDF5 file ({err})") from None
    with f:
        for name in ("particle_features", "jet_features"):
            if name not in f:
                raise ValueError(f"{path}: missing dataset '{name}' (found {sorted(f.keys())})")
        particle_features = f["particle_features"][...].astype(np.float32)
        jet_features = f["jet_features"][...].astype(np.float32)
    validate_jetnet(particle_features, jet_features, source=str(path))
    return particle_features, jet_features


def read_provenance(path: Path) -> dict | None:
    """The generator settings a generated file records (``provenance`` attribute), else None."""
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["provenance"]) if "provenance" in f.attrs else None


def read_num_constituents(path: Path) -> np.ndarray | None:
    """Multiplicity before the 30-particle cut [N] if ``path`` records it (generated files)."""
    with h5py.File(path, "r") as f:
        return f["num_constituents"][...] if "num_constituents" in f else None


def validate_jetnet(particle_features: np.ndarray, jet_features: np.ndarray, source: str) -> None:
    """Check shapes, finiteness and physical ranges; raise ``ValueError`` saying what is wrong."""
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
    if (particle_features[..., 2] < 0).any():
        raise ValueError(f"{source}: negative pTrel in particle_features")
    if (jet_features[:, 0] <= 0).any():
        raise ValueError(f"{source}: non-positive jet pT in jet_features")
    if not np.isin(particle_features[..., 3], (0.0, 1.0)).all():
        raise ValueError(f"{source}: the mask feature must be 0 or 1")
