"""The field's evaluation tools, below the models: jet metrics, EFPs, FPND and its ParticleNet.

- :mod:`evaluation.jet_metrics`: W1M, W1P, W1EFP, FPD, KPD, COV/MMD through jetnet 0.2.5,
  seeded; EFPs and the relative jet mass.
- :mod:`evaluation.fpnd`: FPND against the real JetNet statistics; JetNet's feature maxima.
- :mod:`evaluation.particlenet`: the ParticleNet that FPND runs (jetnet's weights).

Used by the MPGAN (``mpgan``) and by the data reports (``events``); imports neither.
"""

from evaluation.fpnd import FPND_JETS, JETNET_MAXIMA, fpnd
from evaluation.jet_metrics import efps, jet_mass, jet_metrics

__all__ = ["FPND_JETS", "JETNET_MAXIMA", "efps", "fpnd", "jet_mass", "jet_metrics"]
