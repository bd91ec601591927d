"""PointNet-Mix discriminator (Wang et al., "Rethinking sampling in 3D point cloud GANs", 2020,
arXiv:2006.07029: max and average pooling mixed) as the MPGAN paper uses it (Kansal et al.,
NeurIPS 2021, App. B.2; rkansal47/MPGAN ``ext_models/ext_models.py``: ``PointNetMixD``).

    per particle: MLP(3 → point_layers), LeakyReLU(0.2) after every layer, the last included
    → [max over particles ‖ mean over particles] → MLP(→ head_layers), LeakyReLU after each
    → Linear(→1) → sigmoid

Widths (``--point-layers``/``--head-layers``): 64,128,1024 / 512 (1 190 273 parameters), the
default and every row's but GraphCNN + PointNet on light-quark and top jets (64,128 / 128,
41 601). With ``particle_mask`` (the MP + PointNet row) a masked particle is read as
(0, 0, −0.5), i.e. zero η, φ and pT in physical units, and still pooled, as published (which
does it in place on the caller's tensor; this one does not). No dropout or normalisation; the
sigmoid stays under WGAN-GP, as published; the head runs in float32 under autocast
(:func:`mpgan.model.probability`).

Shapes: x [B, N, 4] → probability real [B].
"""

from __future__ import annotations

import torch
from torch import nn

from gnn.mlp import mlp
from mpgan.model import N_FEATURES, MPGANModelOptions, probability, widths

POINT_LAYERS = (64, 128, 1024)
HEAD_LAYERS = (512,)


class PointNetMixDiscriminator(nn.Module):
    """The PointNet-Mix discriminator (see module docstring)."""

    def __init__(self, cfg: MPGANModelOptions) -> None:
        super().__init__()
        self.masked = cfg.particle_mask
        point = widths(cfg.point_layers, "point_layers", POINT_LAYERS)
        head = widths(cfg.head_layers, "head_layers", HEAD_LAYERS)
        self.point_net = mlp([N_FEATURES, *point], 0.2, final_activation=True, fused=False)
        self.head = mlp([2 * point[-1], *head, 1], 0.2, final_activation=False, fused=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        features = x[..., :N_FEATURES]
        if self.masked:  # masked particles as (0, 0, −0.5): zero momentum
            real = (x[..., 3:4] >= 0).to(features.dtype)
            offset = features.new_tensor([0.0, 0.0, 0.5])
            features = (features + offset) * real - offset
        h = self.point_net(features)
        pooled = torch.cat([h.amax(dim=1), h.mean(dim=1)], dim=-1)
        return probability(self.head, pooled)
