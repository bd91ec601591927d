"""r-GAN's discriminator (Achlioptas et al., ICML 2018, arXiv:1707.02392), a PointNet with max
pooling, as the MPGAN paper's FC discriminator (Kansal et al., NeurIPS 2021, App. B.2;
rkansal47/MPGAN ``ext_models/ext_models.py``: ``rGAND``).

    per particle: MLP(3 → point_layers), LeakyReLU(0.2) after every layer, the last included
      (the published Conv1d with kernel 1 over [B·N, 3, 1]: the same map)
    → max over the particles → MLP(→ head_layers), LeakyReLU after each → Linear(→1) → sigmoid

Widths (``--point-layers``/``--head-layers``): the FC + FC rows 64,128,256,256,512 / 64,128
(280 257 parameters); every other row 64,128,256,512 / 128,64 (247 169), the default. No mask:
it reads (η', φ', pT') of every slot (the published FC rows had none); no dropout or
normalisation. The sigmoid stays under WGAN-GP, as published (a bounded critic); the head runs in
float32 under autocast (:func:`mpgan.model.probability`).

Shapes: x [B, N, 3 or 4 (the 4th ignored)] → probability real [B].
"""

from __future__ import annotations

import torch
from torch import nn

from gnn.mlp import mlp
from mpgan.model import N_FEATURES, MPGANModelOptions, probability, widths

POINT_LAYERS = (64, 128, 256, 512)
HEAD_LAYERS = (128, 64)


class FCDiscriminator(nn.Module):
    """The FC discriminator (see module docstring)."""

    def __init__(self, cfg: MPGANModelOptions) -> None:
        super().__init__()
        point = widths(cfg.point_layers, "point_layers", POINT_LAYERS)
        head = widths(cfg.head_layers, "head_layers", HEAD_LAYERS)
        self.point_net = mlp([N_FEATURES, *point], 0.2, final_activation=True, fused=False)
        self.head = mlp([point[-1], *head, 1], 0.2, final_activation=False, fused=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        pooled = self.point_net(x[..., :N_FEATURES]).amax(dim=1)
        return probability(self.head, pooled)
