"""The field's evaluation tools, below the models: jet metrics, EFPs, FPND and its ParticleNet,
the EMD of events.

- :mod:`evaluation.jet_metrics`: W1M, W1P, W1EFP, FPD, KPD, COV/MMD through jetnet 0.2.5,
  seeded; EFPs and the relative jet mass.
- :mod:`evaluation.fpnd`: FPND against the real JetNet statistics.
- :mod:`evaluation.particlenet`: the ParticleNet that FPND runs (jetnet's weights).
- :mod:`evaluation.jetnet`: JetNet's conventions: 30 particles, feature maxima, normalisation.
- :mod:`evaluation.emd`: the Energy Mover's Distance between events' hits (the GVAE's metric).

Used by the models (``gvae``, ``mpgan``) and by the data reports (``events``); imports none.
"""

from evaluation.emd import emd, event_emds
from evaluation.fpnd import FPND_JETS, fpnd
from evaluation.jet_metrics import efps, jet_metrics, physical_jets, relative_jet_mass
from evaluation.jetnet import JETNET_MAXIMA, N_PARTICLES, normalise_features

__all__ = [
    "FPND_JETS",
    "JETNET_MAXIMA",
    "N_PARTICLES",
    "efps",
    "emd",
    "event_emds",
    "fpnd",
    "jet_metrics",
    "normalise_features",
    "physical_jets",
    "relative_jet_mass",
]
