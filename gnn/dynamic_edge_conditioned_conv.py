"""Edge-conditioned convolution (Simonovsky & Komodakis, CVPR 2017, arXiv:1704.02901) on a k-NN
graph rebuilt from each layer's input (the dynamic graph of Wang et al. 2019, arXiv:1801.07829),
the layer of GraphCNN-GAN (Valsesia, Fracastoro, Magli, ICLR 2019) as the MPGAN paper's baseline
uses it (rkansal47/MPGAN ``ext_models/ext_models.py``: ``GraphCNNGANG``, PyG's ``NNConv``).

For a cloud h: [B, N, F_in], per graph (jet) b and node i with its k nearest other nodes N(i)
(Euclidean distance in h, self excluded; ``torch_cluster.knn_graph(h, k, batch, loop=False)``):

    h_i' = (1/k) Σ_{j∈N(i)} h_j · Θ(h_j − h_i)  +  W_root h_i  +  b

with Θ(e) = reshape(A e + a) ∈ R^{F_in × F_out}, a single linear edge network (PyG's
``NNConv(F_in, F_out, Linear(F_in, F_in·F_out), aggr="mean")``: the parameters are that module's).

Two implementations of the same maths and parameters:

- ``"published"``: PyG's ``NNConv`` on the k-NN ``edge_index`` — Θ formed for every edge, a
  [B·N·k, F_in·F_out] tensor;
- ``"fast"`` (default): Θ is linear in e = h_j − h_i, so the mean over neighbours needs only
  S2_i = mean_j h_j ⊗ h_j and S1_i = mean_j h_j (one batched product with the [N, N] neighbour
  matrix):  h_i' = (S2_i − S1_i ⊗ h_i) · A' + S1_i · a' + W_root h_i + b  (A', a' being A and a
  laid out as [F_in·F_in, F_out] and [F_in, F_out]); no per-edge tensor. The same numbers up to
  fp32 summation order.

Args:
    in_features, out_features: F_in and F_out.
    k: neighbours per node (GraphCNN-GAN for jets: 20 of 30 particles).
    implementation: ``"fast"`` (default) or ``"published"``.

Shapes: h [B, N, F_in] → [B, N, F_out]; N > k.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import NNConv

IMPLEMENTATIONS = ("fast", "published")


def knn_indices(h: torch.Tensor, k: int) -> torch.Tensor:
    """The k nearest other nodes of every node of every graph: [B, N, k] (Euclidean in h
    [B, N, F], self excluded, nearest first; distances from differences, not the faster
    ‖a‖² + ‖b‖² − 2a·b, whose rounding would reorder near neighbours)."""
    distance = torch.cdist(h, h, compute_mode="donot_use_mm_for_euclid_dist").masked_fill(
        torch.eye(h.size(1), dtype=torch.bool, device=h.device), float("inf")
    )
    return distance.topk(k, dim=-1, largest=False).indices


class DynamicEdgeConditionedConv(nn.Module):
    """One GraphCNN-GAN graph convolution (see module docstring)."""

    def __init__(
        self, in_features: int, out_features: int, k: int = 20, implementation: str = "fast"
    ) -> None:
        super().__init__()
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}"
            )
        self.in_features, self.out_features, self.k = in_features, out_features, k
        self.implementation = implementation
        edge_network = nn.Linear(in_features, in_features * out_features)
        self.conv = NNConv(in_features, out_features, edge_network, aggr="mean")

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        batch, n, _ = h.shape
        if n <= self.k:
            raise ValueError(f"{n} nodes per graph: need more than k = {self.k}")
        with torch.no_grad():  # the graph is a choice, not a function to differentiate
            neighbours = knn_indices(h, self.k)  # [B, N, k]
        if self.implementation == "published":
            offset = (torch.arange(batch, device=h.device) * n)[:, None, None]
            source = (neighbours + offset).flatten()  # j, then i: PyG's source → target
            target = torch.arange(batch * n, device=h.device).repeat_interleave(self.k)
            flat = h.reshape(batch * n, -1)
            edge_attr = flat[source] - flat[target]  # h_j − h_i
            out = self.conv(flat, torch.stack([source, target]), edge_attr)
            return out.view(batch, n, -1)
        f_in, f_out = self.in_features, self.out_features
        adjacency = torch.zeros(batch, n, n, dtype=h.dtype, device=h.device)
        adjacency.scatter_(2, neighbours, 1.0 / self.k)  # row i: 1/k at its neighbours
        s1 = adjacency @ h  # [B, N, F]
        s2 = adjacency @ (h.unsqueeze(-1) * h.unsqueeze(-2)).flatten(2)  # [B, N, F·F]
        edge = self.conv.nn
        a = edge.weight.view(f_in, f_out, f_in).permute(0, 2, 1).reshape(f_in * f_in, f_out)
        pairs = s2 - (s1.unsqueeze(-1) * h.unsqueeze(-2)).flatten(2)  # mean_j h_j ⊗ (h_j − h_i)
        out = pairs @ a + s1 @ edge.bias.view(f_in, f_out)
        return out + self.conv.lin(h) + self.conv.bias

    def extra_repr(self) -> str:
        return f"k={self.k}, implementation={self.implementation!r}"
