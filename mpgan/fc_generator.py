"""r-GAN's fully connected generator (Achlioptas et al., ICML 2018, arXiv:1707.02392) as the MPGAN
paper scales it to 30 particles (Kansal et al., NeurIPS 2021, App. B.2; rkansal47/MPGAN
``ext_models/ext_models.py``: ``rGANG`` with ``rgang_fc`` [64, 128]).

    z ~ N(0, σ²) [B, 128] → Linear(128→64) → LeakyReLU(0.2) → Linear(64→128) → LeakyReLU
      → Linear(128→90) → tanh → [B, 30, 3], particle-major (output 3p + f is feature f of p)

No mask: it writes all 30 slots (:mod:`mpgan.generator`), zero-padded particles included.
28 186 parameters; ``net.{0,2,4}`` are the published ``model.{0,2,4}``.

Shapes: ``forward(z [B, 128], n (ignored), labels=None)`` → [B, 30, 4].
"""

from __future__ import annotations

import torch

from evaluation.jetnet import N_PARTICLES
from gnn.mlp import mlp
from mpgan.generator import JetGenerator
from mpgan.model import N_FEATURES, MPGANModelOptions

LATENT = 128  # the published latent_dim
HIDDEN = (64, 128)  # rgang_fc of the fc rows' args.txt


class FCGenerator(JetGenerator):
    """The FC generator (see module docstring)."""

    def __init__(self, cfg: MPGANModelOptions) -> None:
        super().__init__(cfg, (LATENT,), N_PARTICLES, masked=False)
        sizes = [LATENT, *HIDDEN, N_PARTICLES * N_FEATURES]
        self.net = mlp(sizes, 0.2, final_activation=False, fused=False)

    def forward(
        self, z: torch.Tensor, n: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.check_unconditional(labels)
        particles = torch.tanh(self.net(z)).view(-1, N_PARTICLES, N_FEATURES)
        return self.all_real(particles)
