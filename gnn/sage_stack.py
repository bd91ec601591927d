"""GraphSAGE convolutions stacked on a sparse graph (the GVAE's kNN hit graphs).

GraphSAGE (Hamilton, Ying, Leskovec 2017, arXiv:1706.02216) with mean aggregation, PyG's
``SAGEConv``; for node i with neighbours N(i):

    h_i' = ReLU(W_root h_i + W_rel · mean_{j ∈ N(i)} h_j)

A node without neighbours keeps W_root h_i (the mean over no neighbour is 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.nn import SAGEConv


class SAGEStack(nn.Module):
    """SAGEConv layers ``sizes[0] → … → sizes[-1]`` on a sparse graph, ReLU after each.

    Args:
        sizes: feature widths, input first, at least two entries.

    Shapes: x [N, F_in], edge_index [2, E] → [N, F_out].
    """

    def __init__(self, sizes: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            SAGEConv(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = torch.relu(conv(x, edge_index))
        return x
