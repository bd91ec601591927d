"""TreeGAN's generator (Shu, Park, Kwon, ICCV 2019, arXiv:1905.06292) as the MPGAN paper uses it
for jets (Kansal et al., NeurIPS 2021, App. B.2; rkansal47/MPGAN ``ext_models/ext_models.py``:
``TreeGANG`` with ``treegang_features`` [96, 64, 64, 64, 64, 3], degrees [2, 2, 2, 2, 2],
support 10).

    z ~ N(0, σ²) [B, 1, 96] (the paper's σ = 0.2; TreeGAN's own N(0, 1))
      → 5 × TreeGCN (gnn/tree_gcn.py): 1 → 2 → 4 → 8 → 16 → 32 nodes, widths 64, 64, 64, 64, 3
      → [B, 32, 3], no output activation

32 particles: the real jets are zero-padded from 30 to 32 for these rows (``pad_hits`` 2), and
the two extra slots stay in W1, COV and MMD; FPND takes the first 30 (the paper's
``final_evaluation.py``). No mask (:mod:`mpgan.generator`). 757 152 parameters (the published
module's 757 158 less the 6 of a bias its last layer never adds).

Shapes: ``forward(z [B, 1, 96], n (ignored), labels=None)`` → [B, 32, 4].
"""

from __future__ import annotations

import torch
from torch import nn

from gnn.tree_gcn import TreeGCN
from mpgan.generator import JetGenerator
from mpgan.model import MPGANModelOptions

FEATURES = (96, 64, 64, 64, 64, 3)
DEGREES = (2, 2, 2, 2, 2)
SUPPORT = 10
PARTICLES = 32  # ∏ DEGREES: 30 padded to the next power of two


class TreeGANGenerator(JetGenerator):
    """The TreeGAN generator (see module docstring)."""

    def __init__(self, cfg: MPGANModelOptions) -> None:
        super().__init__(cfg, (1, FEATURES[0]), PARTICLES, masked=False)
        last = len(DEGREES) - 1
        self.layers = nn.ModuleList(
            TreeGCN(depth, FEATURES, DEGREES, SUPPORT, activation=depth < last)
            for depth in range(len(DEGREES))
        )

    def forward(
        self, z: torch.Tensor, n: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.check_unconditional(labels)
        tree = [z]
        for layer in self.layers:
            tree.append(layer(tree))
        return self.all_real(tree[-1])
