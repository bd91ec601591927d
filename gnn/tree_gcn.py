"""Tree-structured graph convolution with branching, the layer of TreeGAN (Shu, Park, Kwon,
"3D Point Cloud Generative Adversarial Network Based on Tree Structured Graph Convolutions",
ICCV 2019, arXiv:1905.06292), as the MPGAN paper's baseline uses it (rkansal47/MPGAN
``ext_models/ext_models.py``: ``TreeGCN``).

Layer L of a tree turns the n = d_0·…·d_{L−1} nodes of level L, p^L: [B, n, F_L], into the
n·d_L nodes of level L + 1. With all earlier levels p^k: [B, n_k, F_k] (the "tree"):

    root_i   = Σ_{k≤L} W_root,k p^k_{a_k(i)}       the node's ancestor at every level, no bias
    branch   = LeakyReLU(p^L_i W_branch,i)          [F_L] → [d_L·F_L] per node i (its own matrix),
                                                    read as d_L children of F_L features each
    out_ic   = W_loop(branch_ic) + root_i           the c-th child of node i; W_loop: Linear(F_L →
                                                    s·F_L) → Linear(→ F_{L+1}), both without bias
    out_ic  ← LeakyReLU(out_ic + bias_c)            hidden layers only (``activation=True``)

Children are stored in the order (node, child): child c of node i is node i·d_L + c of level
L + 1, and the ancestor of node j at level k is j // (n / n_k), as the published ``repeat``/
``view`` lay them out. LeakyReLU slope 0.2 (TreeGAN's). The published last layer allocates a
``bias`` it never adds; this layer without ``activation`` has none.

Args:
    depth: L (0 for the layer after the root).
    features: F_0 … F_last, the width of every level (TreeGAN for jets: 96, 64, 64, 64, 64, 3).
    degrees: d_0 … d_{last−1}, children per node at every level (2 each: 32 particles).
    support: s, the loop network's expansion (10).
    activation: add the bias and apply LeakyReLU (every layer but the last).

Shapes: ``forward(tree)`` with tree = [p^0 [B, 1, F_0], …, p^L [B, n, F_L]] → [B, n·d_L, F_{L+1}].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class TreeGCN(nn.Module):
    """One TreeGAN layer (see module docstring)."""

    def __init__(
        self,
        depth: int,
        features: Sequence[int],
        degrees: Sequence[int],
        support: int = 10,
        activation: bool = True,
    ) -> None:
        super().__init__()
        if not 0 <= depth < len(degrees) or len(features) != len(degrees) + 1:
            raise ValueError(
                f"need len(features) = len(degrees) + 1 and 0 <= depth < {len(degrees)}, got "
                f"{len(features)} features, {len(degrees)} degrees, depth {depth}"
            )
        self.depth, self.degree, self.activation = depth, degrees[depth], activation
        self.nodes = math.prod(degrees[:depth])
        self.level_nodes = [math.prod(degrees[:k]) for k in range(depth + 1)]
        n_in, n_out = features[depth], features[depth + 1]
        self.in_features, self.out_features = n_in, n_out
        self.root = nn.ModuleList(
            nn.Linear(features[k], n_out, bias=False) for k in range(depth + 1)
        )
        self.branch = nn.Parameter(torch.empty(self.nodes, n_in, self.degree * n_in))
        self.loop = nn.Sequential(
            nn.Linear(n_in, n_in * support, bias=False),
            nn.Linear(n_in * support, n_out, bias=False),
        )
        if activation:
            self.bias = nn.Parameter(torch.empty(1, self.degree, n_out))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """TreeGAN's initialisation: Xavier-uniform branch matrices (gain √2), bias U(±1/√F_out),
        PyTorch's default for the linear layers."""
        nn.init.xavier_uniform_(self.branch, gain=nn.init.calculate_gain("relu"))
        for linear in [*self.root, *self.loop]:
            linear.reset_parameters()
        if self.activation:
            bound = 1.0 / math.sqrt(self.out_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, tree: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(tree) != self.depth + 1:
            raise ValueError(f"layer {self.depth} takes {self.depth + 1} levels, got {len(tree)}")
        batch, level = tree[0].size(0), tree[-1]
        root = 0
        for linear, nodes, p in zip(self.root, self.level_nodes, tree, strict=True):
            ancestor = linear(p)  # [B, n_k, F_out], each node's value repeated over its subtree
            root = root + ancestor.unsqueeze(2).expand(-1, -1, self.nodes // nodes, -1).reshape(
                batch, self.nodes, -1
            )
        branch = F.leaky_relu(torch.einsum("bnf,nfg->bng", level, self.branch), 0.2)
        children = self.loop(branch.reshape(batch, self.nodes * self.degree, self.in_features))
        out = children.view(batch, self.nodes, self.degree, -1) + root.unsqueeze(2)
        if self.activation:
            out = F.leaky_relu(out + self.bias.unsqueeze(0), 0.2)  # bias per child slot c
        return out.reshape(batch, self.nodes * self.degree, self.out_features)

    def extra_repr(self) -> str:
        return (
            f"depth={self.depth}, nodes={self.nodes}→{self.nodes * self.degree}, "
            f"{self.in_features}→{self.out_features}, activation={self.activation}"
        )
