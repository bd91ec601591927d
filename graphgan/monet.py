"""The MoNet graph classifier of the graph Fréchet distance (Kansal et al. 2020, arXiv:2012.00173
§4.1; rkansal47/graph-gan ``mnist/evaluation.py``, after PyG's ``examples/mnist_graclus.py`` and
Monti et al. 2017, arXiv:1611.08402), and the transform that makes its input from the GAN's graphs.

Input (``tg_transform`` of graph-gan): graphs [B, N, 3] = (x, y, I) in the GAN's units →
nodes with intensity I + 0.5 and position 28·(x, y) + 14 (pixels; nothing clipped), edges
i → j within a graph iff ‖pos_j − pos_i + 10⁻¹²‖ < 0.32178 in the GAN's units (9 pixels), i ≠ j.

Network, before every convolution the edge attribute (pos_j − pos_i)/(2·28·0.32178) + 0.5:

    x = ELU(GMMConv(1 → 32, K = 25)); graclus on the normalised cut of ‖pos_i − pos_j‖; max-pool
    x = ELU(GMMConv(32 → 64));        graclus; max-pool
    x = ELU(GMMConv(64 → 64));        mean over each graph's nodes
    features = fc1(x) [B, 128]        (before its activation: the published GFD features)
    class log-probabilities = log_softmax(fc2(dropout(ELU(features)))) [B, 10] (training only)

GMMConv is PyG's (parameters ``g`` [in, 25·out], ``mu``, ``sigma`` [25, 2], ``root``, ``bias``,
mean aggregation); :func:`gmm_conv` computes its output in another order — the Gaussian-weighted
neighbour means of the inputs first, per graph with dense matrix products, then one matrix
product with the kernels — 2.67× PyG's call on this project's CPU (docs/benchmarks.md). Graclus is
:func:`gnn.graclus.graclus` (PyG's needs pyg-lib or torch-cluster), seeded; PyG's ``max_pool``
(cluster maxima of x, means of pos, edges between clusters) and ``normalized_cut`` as published.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GMMConv, global_mean_pool, max_pool
from torch_geometric.utils import normalized_cut, to_dense_adj, to_dense_batch

from gnn.graclus import graclus
from graphgan.images import SIDE

CUTOFF = 0.32178  # radius of the classifier's graphs in the GAN's units (≈ 9 pixels)
KERNELS = 25
CLASSES = 10
FEATURES = 128  # fc1, the GFD's features


def classifier_input(graphs: torch.Tensor) -> Batch:
    """GAN graphs [B, N, 3] (x, y, I) → the classifier's batch: x [B·N, 1], pos [B·N, 2] in
    pixels, edge_index [2, E] (the radius graph, i → j as ``row → col``), batch [B·N]."""
    count, nodes, _ = graphs.shape
    pos = graphs[..., :2]
    distance = torch.linalg.vector_norm(pos[:, None, :, :] - pos[:, :, None, :] + 1e-12, dim=-1)
    near = distance < CUTOFF  # [b, i, j]: ‖pos_j − pos_i + 1e-12‖
    near &= ~torch.eye(nodes, dtype=torch.bool, device=graphs.device)
    b, i, j = near.nonzero(as_tuple=True)
    edge_index = torch.stack([b * nodes + i, b * nodes + j])
    return Batch(
        x=graphs[..., 2].reshape(-1, 1) + 0.5,
        pos=SIDE * pos.reshape(-1, 2) + SIDE / 2,
        edge_index=edge_index,
        batch=torch.arange(count, device=graphs.device).repeat_interleave(nodes),
    )


def edge_attributes(pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """(pos[col] − pos[row]) / (2·28·0.32178) + 0.5: [E, 2] (written out; PyG ≥ 2.0's
    ``Cartesian`` has the opposite sign)."""
    row, col = edge_index
    return (pos[col] - pos[row]) / (2 * SIDE * CUTOFF) + 0.5


def gmm_conv(conv: GMMConv, data: Batch) -> torch.Tensor:
    """``conv(data.x, data.edge_index, edge_attributes(…))`` [N, out] of a PyG GMMConv (shared
    Gaussians, mean aggregation), computed per graph on dense, padded [B, n, n] pairs as

        out_i = Σ_k (mean_j w_k(e_ij) x_j) g_k + root(x_i) + bias,
        w_k(e) = exp(−½ Σ_d (e_d − μ_kd)² / (10⁻¹⁵ + σ_kd²)),

    the exponent term by term (a product form of it loses digits for narrow kernels), the
    neighbour means one batched matrix product: no E × K × channels tensor is made (PyG's makes
    one of E × K × out). Non-edges are masked by a factor 0, so a NaN position poisons its
    whole graph here (in PyG's only its neighbours); GFD reports inf for either."""
    x, mask = to_dense_batch(data.x, data.batch)  # [B, n, in]
    pos, _ = to_dense_batch(data.pos, data.batch)
    count, n, _ = x.shape
    k = conv.kernel_size
    edges = to_dense_adj(data.edge_index, data.batch, max_num_nodes=n)  # [B, j (row), i (col)]
    e = (pos[:, :, None, :] - pos[:, None, :, :]) / (2 * SIDE * CUTOFF) + 0.5  # [B, i, j, 2]
    e = e.permute(3, 0, 1, 2).unsqueeze(3)  # [2, B, i, 1, j]
    mu = conv.mu.T[:, None, None, :, None]  # [2, 1, 1, K, 1]
    a = -0.5 / (1e-15 + conv.sigma.T.square()[:, None, None, :, None])
    exponent = ((e[0] - mu[0]).square() * a[0]).add_((e[1] - mu[1]).square() * a[1])
    weight = torch.exp(exponent) * edges.transpose(1, 2)[:, :, None, :]  # [B, i, K, j]
    degree = edges.sum(1).clamp(min=1)  # [B, i]: edges into i
    mean = torch.bmm(weight.reshape(count, n * k, n), x).view(count, n, -1) / degree[..., None]
    kernels = conv.g.view(conv.in_channels, k, conv.out_channels).transpose(0, 1)
    out = mean[mask] @ kernels.reshape(-1, conv.out_channels)
    if conv.root is not None:
        out = out + conv.root(data.x)
    return out if conv.bias is None else out + conv.bias


class MoNet(nn.Module):
    """The GFD classifier (see module docstring); ``forward`` gives the fc1 features [B, 128],
    :meth:`log_probabilities` the classes [B, 10].

    Args:
        fast: :func:`gmm_conv` instead of PyG's GMMConv call (the same numbers).
    """

    def __init__(self, fast: bool = True) -> None:
        super().__init__()
        self.fast = fast
        self.conv1 = GMMConv(1, 32, dim=2, kernel_size=KERNELS)
        self.conv2 = GMMConv(32, 64, dim=2, kernel_size=KERNELS)
        self.conv3 = GMMConv(64, 64, dim=2, kernel_size=KERNELS)
        self.fc1 = nn.Linear(64, FEATURES)
        self.fc2 = nn.Linear(FEATURES, CLASSES)

    def _conv(self, conv: GMMConv, data: Batch) -> torch.Tensor:
        if self.fast:
            return F.elu(gmm_conv(conv, data))
        return F.elu(conv(data.x, data.edge_index, edge_attributes(data.pos, data.edge_index)))

    def _pool(self, data: Batch, generator: torch.Generator | None) -> Batch:
        row, col = data.edge_index
        weight = normalized_cut(
            data.edge_index, torch.linalg.vector_norm(data.pos[row] - data.pos[col], dim=1),
            num_nodes=len(data.x),
        )  # fmt: skip
        cluster = graclus(data.edge_index, weight, len(data.x), generator)
        return max_pool(cluster, Batch(x=data.x, pos=data.pos, edge_index=data.edge_index,
                                       batch=data.batch))  # fmt: skip

    def forward(self, graphs: torch.Tensor, generator: torch.Generator | None = None):
        """fc1's outputs [B, 128] of GAN graphs [B, N, 3] (``generator``: graclus's colours)."""
        data = classifier_input(graphs)
        data.x = self._conv(self.conv1, data)
        data = self._pool(data, generator)
        data.x = self._conv(self.conv2, data)
        data = self._pool(data, generator)
        x = self._conv(self.conv3, data)
        return self.fc1(global_mean_pool(x, data.batch, size=len(graphs)))

    def log_probabilities(self, graphs: torch.Tensor, generator: torch.Generator | None = None):
        """Class log-probabilities [B, 10] (dropout 0.5 in training mode)."""
        hidden = F.dropout(F.elu(self(graphs, generator)), training=self.training)
        return F.log_softmax(self.fc2(hidden), dim=1)


def load_legacy(state: dict) -> dict:
    """A published (PyG 1.x) MoNet state dict in today's layout: each ``conv{i}.root``
    [in, out] becomes ``conv{i}.root.weight`` [out, in] (the old key removed, so that a strict
    load succeeds)."""
    state = dict(state)
    for i in (1, 2, 3):
        old = state.pop(f"conv{i}.root", None)
        if old is not None:
            state[f"conv{i}.root.weight"] = old.T.contiguous()
    return state
