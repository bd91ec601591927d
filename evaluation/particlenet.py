"""ParticleNet as trained for FPND (Qu & Gouskos 2020; the JetNet variant of Kansal et al. 2021).

On x: [B, N = 30, 3] normalised particle features (see :func:`evaluation.fpnd.fpnd_inputs`):

    3 × EdgeConv (k = 16 nearest neighbours, in (η, φ) for the first block and in the full
        feature space after; message MLP([x_i ‖ x_j − x_i]) of Linear-BatchNorm-ReLU × 3 with
        64, 128, 256 channels; mean over neighbours), each block's output concatenated to its
        input (skip connection)
    mean over the 30 particles → Linear(451 → 256) = the activations FPND compares
    → ReLU → Linear(256 → 5) class logits (g, t, q, w, z: JetNet's order)

Parameter names follow jetnet's ``_ParticleNet``, so its shipped state dict loads strictly.
jetnet builds the kNN with torch-cluster, which has no wheel for this torch; :func:`knn_edges`
does it with a sort (ties to the lower particle index; they only occur between identical zero-
padded particles, whose messages are identical). A test runs jetnet's own module on the same
jets with a kNN stand-in and compares.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import EdgeConv

CLASSES = ("g", "t", "q", "w", "z")  # JetNet's class order: logit i is CLASSES[i]


class EdgeMLP(nn.Module):
    """Linear → BatchNorm → ReLU, three times: [E, 2F] → [E, C]."""

    def __init__(self, in_features: int, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for n_in in (2 * in_features, channels, channels):
            layers += [nn.Linear(n_in, channels), nn.BatchNorm1d(channels), nn.ReLU()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def knn_edges(x: torch.Tensor, k: int) -> torch.Tensor:
    """Directed kNN edges (neighbour j → particle i, no self-loops) of x: [B, N, D] → [2, B·N·k]."""
    b, n, _ = x.shape
    distance = (x.unsqueeze(2) - x.unsqueeze(1)).square().sum(-1)  # [B, N, N]
    distance.diagonal(dim1=1, dim2=2).fill_(float("inf"))
    nearest = distance.sort(dim=-1, stable=True).indices[..., :k]  # [B, N, k]
    offset = (torch.arange(b, device=x.device) * n)[:, None, None]
    source = (nearest + offset).flatten()
    target = (torch.arange(n, device=x.device)[None, :, None] + offset).expand(b, n, k).flatten()
    return torch.stack([source, target])


class ParticleNet(nn.Module):
    """x [B, N, 3] → logits [B, 5]; :meth:`activations` → [B, 256]."""

    def __init__(
        self, features: int = 3, k: int = 16, channels: tuple[int, ...] = (64, 128, 256)
    ) -> None:
        super().__init__()
        self.k = k
        self.edge_nets = nn.ModuleList()
        self.edge_convs = nn.ModuleList()
        width = features
        for c in channels:
            self.edge_nets.append(EdgeMLP(width, c))
            self.edge_convs.append(EdgeConv(self.edge_nets[-1], aggr="mean"))
            width += c
        self.fc1 = nn.Sequential(nn.Linear(width, 256))
        self.fc2 = nn.Linear(256, len(CLASSES))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """fc1 outputs before the ReLU: [B, 256]."""
        b, n, _ = x.shape
        h = x.reshape(b * n, -1)
        for i, conv in enumerate(self.edge_convs):
            position = h.view(b, n, -1)[..., :2] if i == 0 else h.view(b, n, -1)
            h = torch.cat([conv(h, knn_edges(position, self.k)), h], dim=1)
        return self.fc1(h.view(b, n, -1).mean(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.activations(x)))
