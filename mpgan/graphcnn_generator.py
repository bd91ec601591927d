"""GraphCNN-GAN's generator (Valsesia, Fracastoro, Magli, ICLR 2019) as the MPGAN paper scales it
to 30 particles (Kansal et al., NeurIPS 2021, App. B.2; rkansal47/MPGAN
``ext_models/ext_models.py``: ``GraphCNNGANG`` with ``graphcnng_layers`` [32, 24], ``num_knn``
20, ``graphcnng_tanh`` False).

    z ~ N(0, σ²) [B, 128] → Linear(128 → 30·32) → LeakyReLU(0.2) → [B, 30, 32]
      → ECC(32→24) on the 20-NN graph of its input → BatchNorm → LeakyReLU
      → ECC(24→3) on the 20-NN graph of its input → BatchNorm → [B, 30, 3], no output activation

ECC: :class:`gnn.dynamic_edge_conditioned_conv.DynamicEdgeConditionedConv` (PyG's ``NNConv``,
mean over the neighbours, root weight and bias; the k-NN graph rebuilt per layer and per jet).
BatchNorm over every particle of the batch (``torch_geometric.nn.BatchNorm`` =
``BatchNorm1d``, eps 10⁻⁵, momentum 0.1): the output depends on train/eval mode, and the
published procedure draws the discriminator step's jets in eval mode, the generator step's in
training mode (:mod:`mpgan.task`). Under several ranks each normalises over its own jets (no
synchronised BatchNorm, as the engines train every other model). Outputs are unbounded: the last
operation is the 3-feature BatchNorm. No mask (:mod:`mpgan.generator`). 151 905 parameters.

Shapes: ``forward(z [B, 128], n (ignored), labels=None)`` → [B, 30, 4].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from evaluation.jetnet import N_PARTICLES
from gnn.dynamic_edge_conditioned_conv import DynamicEdgeConditionedConv
from mpgan.generator import JetGenerator
from mpgan.model import N_FEATURES, MPGANModelOptions

LATENT = 128  # the published latent_dim
WIDTHS = (32, 24)  # graphcnng_layers
NEIGHBOURS = 20  # num_knn, forced to 20 for graphcnngan (setup_training.py)


class GraphCNNGenerator(JetGenerator):
    """The GraphCNN generator (see module docstring)."""

    def __init__(self, cfg: MPGANModelOptions) -> None:
        super().__init__(cfg, (LATENT,), N_PARTICLES, masked=False)
        self.dense = nn.Linear(LATENT, N_PARTICLES * WIDTHS[0])
        sizes = [*WIDTHS, N_FEATURES]
        self.convs = nn.ModuleList(
            DynamicEdgeConditionedConv(n_in, n_out, NEIGHBOURS, cfg.implementation)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(n_out) for n_out in sizes[1:])

    def forward(
        self, z: torch.Tensor, n: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.check_unconditional(labels)
        h = F.leaky_relu(self.dense(z), 0.2).view(-1, N_PARTICLES, WIDTHS[0])
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            h = conv(h)
            h = norm(h.flatten(0, 1)).view_as(h)  # over all particles of the batch
            if i < len(self.convs) - 1:
                h = F.leaky_relu(h, 0.2)
        return self.all_real(h)
