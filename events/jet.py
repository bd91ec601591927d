"""One jet and its constituents, as the generator hands them to the detector and JetNet writers.

Kept apart from :mod:`events.pythia` so that reading, simulating and training need neither Pythia
nor FastJet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Columns of Jet.constituents.
PT, ETA, PHI, ENERGY, PID, CHARGE = range(6)


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Azimuthal angles (differences) wrapped to (−π, π]."""
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


@dataclass
class Jet:
    """One jet: its four-momentum and its constituents.

    Attributes:
        pt, eta, phi, mass: the jet (GeV, rad).
        constituents: [M, 6] float64 with columns (pT, η, φ, E, PDG id, charge), pT-descending.
    """

    pt: float
    eta: float
    phi: float
    mass: float
    constituents: np.ndarray
