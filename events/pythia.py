"""Boosted jets from Pythia 8 + FastJet, made as close to JetNet as we can (13 TeV, 1 TeV partons).

:func:`generate_jets` yields one :class:`Jet` per accepted event — the leading anti-kT jet (R = 0.4
by default, see ``JetSourceOptions.radius``) with its constituents (pT, η, φ, E, PDG id, charge),
sorted by pT. Everything downstream (the JetNet arrays, the calorimeter images) starts from these.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import fastjet
import numpy as np
import pythia8mc

from events.jet import Jet

# Pythia processes per JetNet class (Kansal et al. 2021, app. A / the JetNet generation recipe).
PROCESSES = {
    "g": ["HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"],
    "q": ["HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on"],
    # Hadronic W decays only, so that the whole top decays into the jet.
    "t": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"],
}
NEUTRINOS = (12, 14, 16)


@dataclass
class JetSourceOptions:
    """Pythia 8 + FastJet settings for one jet class."""

    jet_type: str = field(default="g", metadata={"help": "g, q or t", "choices": ["g", "q", "t"]})
    sqrt_s: float = field(default=13000.0, metadata={"help": "pp centre-of-mass energy [GeV]"})
    pthat_min: float = field(default=995.0, metadata={"help": "hard-process pT lower edge [GeV]"})
    pthat_max: float = field(default=1005.0, metadata={"help": "hard-process pT upper edge [GeV]"})
    # R = 0.4, not the 0.8 of the MPGAN paper's text: the FPND scan (events.fpnd_scan,
    # docs/fpnd_scan/) brings g, q and t jets from FPND 60 / 75 / 23 at R = 0.8 to 0.15 / 0.61 /
    # 0.13 at R = 0.4, and JetNet's own feature maxima (evaluation.fpnd.JETNET_MAXIMA) put every
    # constituent within |φrel| ≤ 0.52, which R = 0.8 jets violate.
    radius: float = field(default=0.4, metadata={"help": "anti-kT jet radius R"})
    jet_pt_min: float = field(default=800.0, metadata={"help": "leading-jet pT window, low [GeV]"})
    jet_pt_max: float = field(default=1600.0, metadata={"help": "leading-jet pT window, high"})
    # JetNet: Pythia 8.212 with the Monash 2013 tune and its underlying event (Kansal et al.
    # 2021, app. A); switchable to measure how much the UE moves the FPND.
    underlying_event: bool = field(
        default=True, metadata={"help": "multiparton interactions (PartonLevel:MPI)"}
    )
    # Monash 2013's final-state-shower coupling, TimeShower:alphaSvalue (Skands, Carrazza, Rojo
    # 2014, table 3); a knob of the scan in events.fpnd_scan, not of the JetNet recipe.
    fsr_alpha_s: float = field(
        default=0.1365, metadata={"help": "final-state shower alpha_s(mZ) (Monash: 0.1365)"}
    )

    def __post_init__(self) -> None:
        if self.jet_type not in PROCESSES:
            raise ValueError(f"jet_type must be one of {sorted(PROCESSES)}, got {self.jet_type!r}")
        if not 0 < self.pthat_min < self.pthat_max:
            raise ValueError(
                f"need 0 < pthat_min < pthat_max, got {self.pthat_min}, {self.pthat_max}"
            )
        if not 0 < self.radius <= 1.6:
            raise ValueError(f"radius must be in (0, 1.6], got {self.radius}")


def make_pythia(cfg: JetSourceOptions, seed: int) -> pythia8mc.Pythia:
    """A quiet, seeded Pythia 8 instance for the class in ``cfg`` (Monash 2013 tune, with UE)."""
    if not 0 <= seed <= 900_000_000:
        raise ValueError(f"Pythia seeds must be in [0, 900000000], got {seed}")
    pythia = pythia8mc.Pythia("", False)  # no banner
    settings = [
        f"Beams:eCM = {cfg.sqrt_s}",
        "Tune:pp = 14",  # Monash 2013; multiparton interactions (underlying event) on by default
        *PROCESSES[cfg.jet_type],
        f"PhaseSpace:pTHatMin = {cfg.pthat_min}",
        f"PhaseSpace:pTHatMax = {cfg.pthat_max}",
        f"PartonLevel:MPI = {'on' if cfg.underlying_event else 'off'}",
        f"TimeShower:alphaSvalue = {cfg.fsr_alpha_s}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
    ]
    for line in settings:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected setting {line!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise for jet type {cfg.jet_type!r}")
    return pythia


def _final_state(event: pythia8mc.Event) -> np.ndarray:
    """Visible final-state particles of an event: [P, 6] = (px, py, pz, E, PDG id, charge)."""
    rows = [
        (p.px(), p.py(), p.pz(), p.e(), p.id(), p.charge())
        for p in (event[i] for i in range(event.size()))
        if p.isFinal() and p.idAbs() not in NEUTRINOS
    ]
    return np.asarray(rows, dtype=np.float64)


def generate_jets(cfg: JetSourceOptions, n_jets: int, seed: int) -> Iterator[Jet]:
    """Yield ``n_jets`` leading jets inside the pT window, one per accepted Pythia event.

    The sequence is a deterministic function of ``(cfg, n_jets, seed)``.
    """
    pythia = make_pythia(cfg, seed)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, cfg.radius)
    accepted = 0
    while accepted < n_jets:
        if not pythia.next():
            continue
        particles = _final_state(pythia.event)
        pseudojets = []
        for i, (px, py, pz, e) in enumerate(particles[:, :4]):
            pj = fastjet.PseudoJet(px, py, pz, e)
            pj.set_user_index(i)
            pseudojets.append(pj)
        sequence = fastjet.ClusterSequence(pseudojets, definition)
        jets = fastjet.sorted_by_pt(sequence.inclusive_jets(cfg.jet_pt_min))
        if not jets or jets[0].pt() > cfg.jet_pt_max:
            continue
        leading = jets[0]
        members = particles[[c.user_index() for c in leading.constituents()]]
        pt = np.hypot(members[:, 0], members[:, 1])
        p_abs = np.sqrt(pt**2 + members[:, 2] ** 2)
        eta = np.arctanh(np.clip(members[:, 2] / np.maximum(p_abs, 1e-12), -1 + 1e-12, 1 - 1e-12))
        phi = np.arctan2(members[:, 1], members[:, 0])
        order = np.argsort(-pt)
        constituents = np.stack([pt, eta, phi, members[:, 3], members[:, 4], members[:, 5]], 1)
        yield Jet(
            pt=leading.pt(),
            eta=leading.eta(),
            phi=leading.phi_std(),
            mass=max(leading.m(), 0.0),
            constituents=constituents[order],
        )
        accepted += 1
        del sequence
