"""Graph convolutions stacked on dense, weighted adjacency (the GVAE's pooled graphs).

For batched graphs x: [B, N, F] with adjacency A: [B, N, N] and mask [B, N]:

- ``kind="graph"`` (default): PyG's ``DenseGraphConv`` (the GraphConv of Morris et al. 2019,
  "Weisfeiler and Leman go neural", arXiv:1810.02244) on the row-normalised adjacency,

      h_i' = ReLU(W_root h_i + W_rel · Σ_j (A_ij / Σ_k A_ik) h_j),

  a weighted mean that respects the fractional edge weights MinCut pooling and unpooling
  produce and keeps activations at the same scale however dense S A Sᵀ becomes;
- ``kind="sage"``: PyG's ``DenseSAGEConv`` (GraphSAGE, arXiv:1706.02216), which divides A·x by
  max(row sum, 1): a mean for 0/1 adjacency.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.nn import DenseGraphConv, DenseSAGEConv


class DenseGraphStack(nn.Module):
    """Dense graph convolutions ``sizes[0] → … → sizes[-1]`` with ReLU after each.

    Args:
        sizes: feature widths, input first, at least two entries.
        kind: ``"graph"`` (GraphConv on the row-normalised adjacency) or ``"sage"``.

    Shapes: x [B, N, F_in], adj [B, N, N], mask [B, N] (optional) → [B, N, F_out]; padded nodes
    (mask False) come out as zeros and never reach real nodes through ``adj`` as long as their
    rows and columns of ``adj`` are zero.

    Raises:
        ValueError: an unknown ``kind``.
    """

    def __init__(self, sizes: Sequence[int], kind: str = "graph") -> None:
        super().__init__()
        convs = {"sage": DenseSAGEConv, "graph": DenseGraphConv}
        if kind not in convs:
            raise ValueError(f"kind must be one of {sorted(convs)}, got {kind!r}")
        self.convs = nn.ModuleList(
            convs[kind](n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )

    def forward(
        self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if isinstance(self.convs[0], DenseGraphConv):
            adj = adj / adj.sum(-1, keepdim=True).clamp(min=1e-12)
        for conv in self.convs:
            x = torch.relu(conv(x, adj, mask))
        return x
