"""The field's evaluation tools, below the models: jet metrics, EFPs, FPND and its ParticleNet,
the EMD of events.

- :mod:`evaluation.jet_metrics`: W1M, W1P, W1EFP, FPD, KPD, COV/MMD through jetnet 0.2.5,
  seeded; EFPs and the relative jet mass.
- :mod:`evaluation.fpnd`: FPND against the real JetNet statistics.
- :mod:`evaluation.particlenet`: the ParticleNet that FPND runs (jetnet's weights).
- :mod:`evaluation.jetnet`: JetNet's conventions: 30 particles, feature maxima, normalisation.
- :mod:`evaluation.emd`: the Energy Mover's Distance between events' hits (the GVAE's metric).

Used by the models (``gvae``, ``mpgan``) and by the data reports (``events``); imports none.
Import the modules themselves: this package imports nothing, so that a model that needs only
the JetNet conventions does not pay for PyG (FPND's ParticleNet) or jetnet.
"""
