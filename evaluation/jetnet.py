"""JetNet's conventions, in which the field's jet metrics and the MPGAN are defined: 30
particles per jet, the particle features' maxima over the JetNet data, and the normalisation
built on them (jetnet 0.2.5's ``JetNet.fpnd_norm``; Kansal et al. 2021, arXiv:2106.11535).

The one home of these constants: FPND (:mod:`evaluation.fpnd`), the MPGAN's data
(:mod:`mpgan.data`) and the JetNet files (:mod:`events.jetnet`) use them from here.
"""

from __future__ import annotations

import numpy as np

N_PARTICLES = 30  # particles per jet (the 30 of highest pT, zero-padded)
# ηrel, φrel, pTrel maxima over the JetNet 30-particle data (jetnet's ``JetNet.fpnd_norm``).
JETNET_MAXIMA = np.array([1.6211985349655151, 0.520724892616272, 0.8934717178344727], np.float32)


def normalise_features(
    particle_features: np.ndarray, maxima: np.ndarray = JETNET_MAXIMA
) -> np.ndarray:
    """(ηrel, φrel, pTrel) [..., 3 or more] → each divided by its maximum, pT then shifted by
    −0.5: η, φ in about [−1, 1], pT in [−0.5, 0.5]; returns float32 [..., 3]."""
    x = np.array(particle_features[..., :3], dtype=np.float32)
    x /= maxima
    x[..., 2] -= 0.5
    return x
