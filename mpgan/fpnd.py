"""Fréchet ParticleNet Distance (FPND, Kansal et al. 2021) against the real JetNet statistics.

The jetnet 0.2.5 wheel ships the pretrained ParticleNet classifier of the MPGAN paper and the
mean and covariance of its activations on real JetNet jets (gluon, light quark, top; 30
particles). ``launch/setup.sh`` reads those files out of the wheel (jetnet itself is not
installed) into ``<venv>/share/jetnet-fpnd/30_particles/``.

ParticleNet (Qu & Gouskos 2020, the JetNet variant), on x: [B, 30, 3] normalised features:

    3 × EdgeConv (k = 16 nearest neighbours, in (η, φ) for the first block and in the full
        feature space after; message MLP([x_i ‖ x_j − x_i]) of Linear-BatchNorm-ReLU × 3 with
        64, 128, 256 channels; mean over neighbours), each block's output concatenated to its
        input (skip connection)
    mean over the 30 particles → Linear(451 → 256) = the activations FPND compares
    → ReLU → Linear(256 → 5) class logits (g, t, q, w, z: JetNet's order)

Inputs are normalised as JetNet's ``fpnd_norm``: each feature divided by its JetNet maximum
(η 1.6212, φ 0.5207, pT 0.8935) and pT shifted by −0.5; masked particles are zero before that.
The kNN is written here (torch-cluster has no wheel for this torch); ties go to the lower
particle index.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import EdgeConv

from mpgan.metrics import gaussian_frechet_distance

RESOURCES = Path(sys.prefix) / "share" / "jetnet-fpnd" / "30_particles"
JETNET_MAXIMA = (1.6211985349655151, 0.520724892616272, 0.8934717178344727)
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
    """The JetNet ParticleNet: x [B, N, 3] → logits [B, 5]; ``activations`` → [B, 256]."""

    def __init__(self, features: int = 3, k: int = 16, channels=(64, 128, 256)) -> None:
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


def fpnd_inputs(jets: np.ndarray) -> torch.Tensor:
    """JetNet-unit jets [N, 30, 3 or 4 (with mask)] → ParticleNet inputs [N, 30, 3]."""
    x = np.array(jets[..., :3], dtype=np.float32)
    if jets.shape[-1] > 3:
        x[jets[..., 3] <= 0] = 0.0
    x /= np.array(JETNET_MAXIMA, dtype=np.float32)
    x[..., 2] -= 0.5
    return torch.from_numpy(x)


@cache
def pretrained(resources: Path = RESOURCES) -> ParticleNet:
    """The shipped ParticleNet, eval mode (strict state-dict load)."""
    path = resources / "pnet_state_dict.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; `make env` extracts it from jetnet 0.2.5")
    model = ParticleNet()
    model.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
    return model.eval()


@torch.no_grad()
def particlenet_activations(jets: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Activations [N, 256] of JetNet-unit jets [N, 30, 3|4]."""
    model, x = pretrained(), fpnd_inputs(jets)
    return torch.cat(
        [model.activations(x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
    ).numpy()


def fpnd(jets: np.ndarray, jet_type: str, max_jets: int = 50_000) -> float:
    """FPND of jets [N, 30, 3|4] (JetNet units) against the real JetNet ``jet_type`` statistics
    (the paper uses 50 000 jets; fewer bias it upwards)."""
    if jet_type not in ("g", "q", "t"):
        raise ValueError(f"FPND statistics exist for g, q and t jets, not {jet_type!r}")
    mu = np.loadtxt(RESOURCES / f"{jet_type}_mu.txt")
    sigma = np.loadtxt(RESOURCES / f"{jet_type}_sigma.txt")
    act = particlenet_activations(jets[:max_jets])
    return gaussian_frechet_distance(mu, sigma, act.mean(0), np.cov(act, rowvar=False))
