"""The generator and discriminator of the 2020 graph GAN (Kansal et al., ML4PS @ NeurIPS 2020,
arXiv:2012.00173; rkansal47/graph-gan ``mnist/model.py``: ``Graph_GAN``), Table 1's sizes.

Both are T fully connected message-passing layers (:class:`gnn.message_passing.
FullyConnectedMessagePassing`, the MPGAN layer with the same maths here: self-pairs included,
sum aggregation, LeakyReLU 0.2, node MLP [m_i ‖ h_i]) whose edge networks also read the
distance of the pair's first two features (x, y; +10⁻¹² under the root), with no mask (every
node is real):

- generator: z ~ N(0, 0.2²) [B, N, 32] → T layers 32 → 32 → tanh of the first 3 of the last
  32 features = (x, y, I) in (−1, 1) (the data lie in [−0.5, 0.5)); no dropout;
- discriminator: a first layer on the 3 data features (edge input 2·3 + 1 = 7), then T_d − 1
  layers 32 → 32; dropout 0.5 after every Linear, each node network's last one included; the
  read-out is σ(mean over nodes of the first feature of the last layer) — the mean of logits,
  then the sigmoid (the published ``--no-dea`` default).

Table 1 (edge MLP widths; node MLP 256, 256; hidden 32):

| variant | T | edge MLP | G / D parameters |
|---|---|---|---|
| sparse, classes 2 3 4 5 7 | 1 | 64, 128 | 127 776 / 116 640 |
| sparse, classes 0 1 6 8 9 | 1 | 96, 160, 192 | 184 384 / 171 392 |
| superpixels, every class | 2 | 64, 128 | 255 552 / 244 416 |

Shapes: generator(z [B, N, 32]) → [B, N, 3]; discriminator(x [B, N, 3]) → probability [B].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gnn.message_passing import FullyConnectedMessagePassing

HIDDEN = 32  # node features (hidden_node_size; latent_node_size 0 → 32)
NODE_MLP = (256, 256)
FEATURES = 3  # (x, y, intensity)
POSITIONS = 2  # the distance edge feature reads (x, y)


class GraphGANGenerator(nn.Module):
    """The 2020 generator (see module docstring).

    Args:
        layers: T, message-passing layers (1 sparse, 2 superpixels).
        edge_hidden: the edge MLP's widths (64, 128 or 96, 160, 192).
        noise_std: σ of z (0.2).
        implementation: ``"fast"`` or ``"published"`` message passing (the same maths).
    """

    def __init__(
        self,
        layers: int,
        edge_hidden: Sequence[int],
        noise_std: float = 0.2,
        implementation: str = "fast",
    ) -> None:
        super().__init__()
        self.noise_std = noise_std
        self.layers = nn.ModuleList(
            FullyConnectedMessagePassing(
                HIDDEN, HIDDEN, edge_hidden, NODE_MLP, implementation=implementation,
                distance_features=POSITIONS,
            )
            for _ in range(layers)
        )  # fmt: skip

    def noise(self, batch: int, nodes: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """z ~ N(0, σ²): [B, N, 32]."""
        return torch.randn(batch, nodes, HIDDEN, device=device) * self.noise_std

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.layers:
            h = layer(h)
        return torch.tanh(h[..., :FEATURES])


class GraphGANDiscriminator(nn.Module):
    """The 2020 discriminator (see module docstring).

    Args:
        layers: T_d, message-passing layers (the first on the 3 data features).
        edge_hidden: the edge MLP's widths.
        dropout: after every Linear (0.5).
        implementation: ``"fast"`` or ``"published"`` message passing (the same maths).
    """

    def __init__(
        self,
        layers: int,
        edge_hidden: Sequence[int],
        dropout: float = 0.5,
        implementation: str = "fast",
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            FullyConnectedMessagePassing(
                FEATURES if i == 0 else HIDDEN, HIDDEN, edge_hidden, NODE_MLP, dropout=dropout,
                implementation=implementation, distance_features=POSITIONS,
            )
            for i in range(layers)
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = layer(h)
        with torch.autocast(x.device.type, enabled=False):  # the read-out in float32
            logit = h[..., 0].to(torch.promote_types(h.dtype, torch.float32)).mean(1)
            return torch.sigmoid(logit)
