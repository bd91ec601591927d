"""A parametrised CMS-like barrel detector that turns a jet into CMS E2E-style images.

Three 125×125 channels in ECAL granularity (0.0174 × 0.0174 in η × φ), centred on the jet axis:

* channel 0, tracks: charged particles with pT > 1 GeV, found with 95% efficiency, pT smeared
  by σ/pT = √(a² + (b·pT)²); pixel value = measured track pT [GeV].
* channel 1, ECAL: e±/γ deposit all their energy, K⁰S/Λ 30% (the rest in HCAL); each deposit
  smeared by σ(E) = √((0.008E)² + 0.11²E + 0.40²), then spread laterally (Gaussian, σ =
  ``ecal_spread`` cells); cells below 0.5 GeV dropped.
* channel 2, HCAL: all other hadrons (charged and neutral), in 0.087 × 0.087 towers (5 × 5 ECAL
  cells), σ(E) = √((0.050E)² + 1.50²E), towers below 1.0 GeV dropped; stored upsampled like the
  real E2E files: each tower's energy repeated over its 5 × 5 pixels.

Muons and neutrinos leave nothing. Values from the Delphes CMS card (resolutions, thresholds,
energy fractions, tracking efficiency); the track pT resolution is a simple approximation.
Pixels below ``zero_suppression`` are set to 0, as in the published E2E files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from events.jet import CHARGE, ENERGY, ETA, PHI, PID, PT, Jet, wrap_phi

# Particles that shower electromagnetically, and the long-lived neutral hadrons that Delphes'
# CMS card splits 30/70 between ECAL and HCAL (K0S, Lambda).
EM_PARTICLES = (11, 22)
SPLIT_HADRONS = (310, 3122)
NO_DEPOSIT = (12, 13, 14, 16)
CHANNELS = ("tracks", "ECAL", "HCAL")  # the image channels, in order: the one home of the names
TRACKS, ECAL, HCAL = range(3)


@dataclass
class DetectorOptions:
    """CMS-like detector parameters (Delphes CMS card)."""

    image_size: int = field(default=125, metadata={"help": "pixels per side (ECAL cells)"})
    ecal_cell: float = field(default=0.0174, metadata={"help": "ECAL cell size in η and φ"})
    hcal_tower_cells: int = field(default=5, metadata={"help": "HCAL tower size in ECAL cells"})
    ecal_resolution: tuple[float, float, float] = (0.008, 0.11, 0.40)  # constant, stochastic, noise
    hcal_resolution: tuple[float, float] = (0.050, 1.50)  # constant, stochastic
    ecal_threshold: float = field(default=0.5, metadata={"help": "ECAL cell threshold [GeV]"})
    hcal_threshold: float = field(default=1.0, metadata={"help": "HCAL tower threshold [GeV]"})
    ecal_fraction_split_hadrons: float = 0.3  # K0S, Lambda: 30% ECAL, 70% HCAL
    track_pt_min: float = field(default=1.0, metadata={"help": "track pT threshold [GeV]"})
    track_efficiency: float = field(default=0.95, metadata={"help": "tracking efficiency"})
    track_pt_resolution: tuple[float, float] = (0.01, 1.5e-4)  # σ/pT = √(a² + (b·pT)²)
    ecal_spread: float = field(default=0.5, metadata={"help": "ECAL lateral spread σ [cells]"})
    zero_suppression: float = 1e-3

    def __post_init__(self) -> None:
        if self.image_size % self.hcal_tower_cells:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of hcal_tower_cells "
                f"{self.hcal_tower_cells}"
            )

    @property
    def hcal_tower(self) -> float:
        """HCAL tower size in η and φ (0.087 by default)."""
        return self.ecal_cell * self.hcal_tower_cells


def _bin(deta: np.ndarray, dphi: np.ndarray, values: np.ndarray, cell: float, n: int) -> np.ndarray:
    """Sum ``values`` into an [n, n] grid of ``cell``-sized bins centred on (0, 0); rows are η."""
    i = np.floor(deta / cell + 0.5).astype(int) + n // 2
    j = np.floor(dphi / cell + 0.5).astype(int) + n // 2
    inside = (i >= 0) & (i < n) & (j >= 0) & (j < n) & (values > 0)
    grid = np.zeros((n, n))
    np.add.at(grid, (i[inside], j[inside]), values[inside])
    return grid


def _smear(energy: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian smearing of the non-zero entries, clipped at zero."""
    hit = energy > 0
    out = energy.copy()
    out[hit] = np.maximum(energy[hit] + rng.normal(0.0, sigma[hit]), 0.0)
    return out


def jet_images(jet: Jet, cfg: DetectorOptions, rng: np.random.Generator) -> np.ndarray:
    """The three detector images of one jet.

    Args:
        jet: a :class:`~events.jet.Jet` (constituents with PDG id and charge).
        cfg: detector parameters.
        rng: random generator for efficiencies and smearing.

    Returns:
        X: [3, image_size, image_size] float32 — (tracks pT, ECAL E, HCAL E upsampled) in GeV.
    """
    c = jet.constituents
    deta = c[:, ETA] - jet.eta
    dphi = wrap_phi(c[:, PHI] - jet.phi)
    pid = np.abs(c[:, PID]).astype(int)
    n = cfg.image_size
    images = np.zeros((3, n, n))

    # Tracks: charged, above threshold, found with the tracking efficiency, pT smeared.
    pt = c[:, PT]
    found = (
        (c[:, CHARGE] != 0) & (pt > cfg.track_pt_min) & (rng.random(len(c)) < cfg.track_efficiency)
    )
    a, b = cfg.track_pt_resolution
    pt_measured = pt * (1.0 + rng.normal(0.0, np.sqrt(a**2 + (b * pt) ** 2)))
    images[TRACKS] = _bin(deta, dphi, np.where(found, pt_measured, 0.0), cfg.ecal_cell, n)

    # Energy sharing between the calorimeters.
    em = np.isin(pid, EM_PARTICLES)
    split = np.isin(pid, SPLIT_HADRONS)
    hadron = ~(em | split | np.isin(pid, NO_DEPOSIT))
    ecal_fraction = np.where(em, 1.0, np.where(split, cfg.ecal_fraction_split_hadrons, 0.0))
    hcal_fraction = np.where(hadron, 1.0, np.where(split, 1 - cfg.ecal_fraction_split_hadrons, 0.0))
    energy = c[:, ENERGY]

    # ECAL: smear each shower, bin, spread laterally, threshold the cells.
    const, stoch, noise = cfg.ecal_resolution
    ecal_energy = energy * ecal_fraction
    sigma = np.sqrt((const * ecal_energy) ** 2 + stoch**2 * ecal_energy + noise**2)
    ecal = _bin(deta, dphi, _smear(ecal_energy, sigma, rng), cfg.ecal_cell, n)
    if cfg.ecal_spread > 0:
        ecal = gaussian_filter(ecal, cfg.ecal_spread, mode="constant", truncate=3.0)
    images[ECAL] = np.where(ecal >= cfg.ecal_threshold, ecal, 0.0)

    # HCAL: towers of 5×5 cells, smear, threshold, then repeat each tower over its pixels.
    towers = _bin(deta, dphi, energy * hcal_fraction, cfg.hcal_tower, n // cfg.hcal_tower_cells)
    const, stoch = cfg.hcal_resolution
    towers = _smear(towers, np.sqrt((const * towers) ** 2 + stoch**2 * towers), rng)
    towers = np.where(towers >= cfg.hcal_threshold, towers, 0.0)
    images[HCAL] = np.kron(towers, np.ones((cfg.hcal_tower_cells, cfg.hcal_tower_cells)))

    images[images < cfg.zero_suppression] = 0.0
    return images.astype(np.float32)
