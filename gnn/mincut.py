"""MinCut pooling (Bianchi, Grattarola, Alippi 2020, arXiv:1907.00481) that also hands back the
assignment S, and unpooling.

Pooling x: [B, N, F], A: [B, N, N] into K clusters with assignment logits from a linear layer:

    S = softmax(x W_s) ⊙ mask          [B, N, K]   (padded nodes get all-zero rows)
    X_pool = Sᵀ X                      [B, K, F]
    A_pool = Sᵀ A S, zero diagonal, D^-1/2 A_pool D^-1/2   [B, K, K]
    mincut_loss = −Tr(Sᵀ A S) / Tr(Sᵀ D S),  ortho_loss = ‖SᵀS/‖SᵀS‖_F − I_K/√K‖_F

the quantities of PyG's ``dense_mincut_pool`` (tested equal), computed here from one Sᵀ A S
because PyG's does not return S and the decoder needs it, and because on a graph without edges
(an event with one hit per sub-detector, whose kNN graphs are then empty) PyG's MinCut term is
0/0 = NaN, which made every update of such a batch non-finite; here an edgeless graph has
nothing to cut and contributes 0 (:func:`cut_ratio`). Unpooling maps cluster features back
onto the nodes:

    X_rec = S X_pool    [B, N, F],     A_rec = S A_pool Sᵀ    [B, N, N]
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Pooled(NamedTuple):
    """Output of :class:`MinCutPool`."""

    x: torch.Tensor  # [B, K, F]
    adj: torch.Tensor  # [B, K, K]
    assignment: torch.Tensor  # S: [B, N, K], rows of padded nodes are zero
    mincut_loss: torch.Tensor  # scalar
    ortho_loss: torch.Tensor  # scalar


def assignment(logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Masked softmax over clusters: S = softmax(logits, −1) ⊙ mask. logits: [B, N, K]."""
    s = torch.softmax(logits, dim=-1)
    return s if mask is None else s * mask.unsqueeze(-1).to(s.dtype)


class MinCutPool(nn.Module):
    """Pool ``in_features``-dimensional nodes into ``clusters`` clusters (see module docstring).

    Args:
        in_features: node features F.
        clusters: K, the pooled graph's nodes.
        temperature: divides the assignment logits (default 1): below 1 it sharpens S, which
            moves training away from the trivial uniform assignment (where the MinCut and
            orthogonality gradients nearly vanish) from the first step.

    Shapes: x [B, N, F], adj [B, N, N], mask [B, N] bool (optional) → :class:`Pooled`.

    Raises:
        ValueError: temperature ≤ 0.
    """

    def __init__(self, in_features: int, clusters: int, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.assign = nn.Linear(in_features, clusters)
        self.temperature = temperature

    def forward(
        self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None
    ) -> Pooled:
        s = assignment(self.assign(x) / self.temperature, mask)
        st = s.transpose(1, 2)
        sas = st @ adj @ s  # [B, K, K], shared by the MinCut term and the pooled adjacency
        cut = sas.diagonal(dim1=-2, dim2=-1).sum(-1)
        volume = (s.square().sum(-1) * adj.sum(-1)).sum(-1)  # Tr(Sᵀ D S)
        return Pooled(
            st @ x, normalised_adjacency(sas), s, cut_ratio(cut, volume), ortho_loss(st @ s)
        )


def cut_ratio(cut: torch.Tensor, volume: torch.Tensor) -> torch.Tensor:
    """The MinCut term −Tr(Sᵀ A S) / Tr(Sᵀ D S) (D = diag of A's row sums) averaged over the
    batch, as PyG's ``dense_mincut_pool`` (Bianchi et al. 2020, arXiv:1907.00481), except that a
    graph without edges (volume Tr(Sᵀ D S) = 0) contributes 0 instead of NaN.

    Shapes: cut [B], volume [B] → scalar.
    """
    has_edges = volume > 0
    ratio = cut / torch.where(has_edges, volume, torch.ones_like(volume))  # no 0/0 anywhere
    return torch.where(has_edges, -ratio, torch.zeros_like(ratio)).mean()


def ortho_loss(sts: torch.Tensor) -> torch.Tensor:
    """‖SᵀS/‖SᵀS‖_F − I_K/√K‖_F averaged over the batch (as PyG's ``dense_mincut_pool``).

    Shapes: sts = SᵀS [B, K, K] → scalar.
    """
    eye = torch.eye(sts.size(-1), dtype=sts.dtype, device=sts.device)
    unit = sts / torch.linalg.matrix_norm(sts, keepdim=True)
    return torch.linalg.matrix_norm(unit - eye / eye.norm()).mean()


def normalised_adjacency(sas: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Sᵀ A S [B, K, K] with its diagonal zeroed, then D^-1/2 · D^-1/2 (D: row sums).

    PyG guards the degree with 1e-15, so a cluster that receives almost no nodes turns into
    entries of order 1e15 and the decoder diverges; here the degree is clamped at ``eps``.
    """
    out = sas * (1 - torch.eye(sas.size(-1), dtype=sas.dtype, device=sas.device))
    d = out.sum(-1).clamp(min=eps).sqrt()
    return out / d.unsqueeze(-1) / d.unsqueeze(-2)


def unpool(
    x_pool: torch.Tensor, adj_pool: torch.Tensor, s: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """X_rec = S X_pool [B, N, F] and A_rec = S A_pool Sᵀ [B, N, N] for S: [B, N, K]."""
    return s @ x_pool, s @ adj_pool @ s.transpose(1, 2)
