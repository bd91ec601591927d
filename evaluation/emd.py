"""The Energy Mover's Distance between two events' hits (Komiske, Metodiev, Thaler 2019,
arXiv:1902.02346), computed by energyflow's ``emd.emd`` — the GVAE's reconstruction metric.

Hits [n, 4] = (η, φ, E [GeV], channel); the EMD is taken in (η, φ) with R = 1.6 (at least half
the diagonal of a 125 × 125 image of 0.0174-wide cells, as the EMD definition requires) and
energies **not** normalised: EMD [GeV] = min Σ f_ij d_ij / R + |ΣE − ΣE'|, per channel and for all
hits together.
"""

from __future__ import annotations

from collections.abc import Sequence

import energyflow as ef
import numpy as np

EMD_R = 1.6


def emd(a: np.ndarray, b: np.ndarray) -> float:
    """Unnormalised EMD [GeV] between hit sets a [n, ≥3], b [m, ≥3] = (η, φ, E, …); with no hit
    on one side it is all the other side's energy (created or destroyed)."""
    if len(a) == 0 or len(b) == 0:
        return float(a[:, 2].sum() + b[:, 2].sum())
    return float(ef.emd.emd(a[:, [2, 0, 1]], b[:, [2, 0, 1]], R=EMD_R))


def event_emds(a: np.ndarray, b: np.ndarray, channels: Sequence[str]) -> dict[str, float]:
    """EMD per channel (hits [:, 3] = the channel's index in ``channels``) and for all hits
    together (key ``"all"``)."""
    out = {name: emd(a[a[:, 3] == c], b[b[:, 3] == c]) for c, name in enumerate(channels)}
    out["all"] = emd(a, b)
    return out
