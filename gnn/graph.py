"""Graph construction for hits: kNN graphs and dense batches with a node cap.

PyG's ``knn_graph`` needs pyg-lib (no wheel here), so the kNN graph is built from pairwise
distances and a stable sort on each graph's dense block, then symmetrised (MinCut pooling
assumes a symmetric adjacency).
"""

from __future__ import annotations

import torch
from torch_geometric.utils import to_dense_adj, to_dense_batch


def knn_graph(pos: torch.Tensor, k: int, batch: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric k-nearest-neighbour graph without self-loops.

    Each node i is joined to its ``k`` nearest nodes j (Euclidean in ``pos``) of the same graph,
    fewer if the graph is smaller; then every edge is added in both directions and duplicates
    are removed, so some nodes end up with more than ``k`` neighbours.

    Args:
        pos: [N, D] node coordinates (e.g. (η, φ) offsets).
        k: neighbours per node, ≥ 1.
        batch: [N] graph index per node, sorted (PyG convention); None for a single graph.

    Returns:
        edge_index: [2, E] int64 (source, target), sorted by target then source.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = pos.size(0)
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=pos.device)
    dense, mask = to_dense_batch(pos, batch, fill_value=0.0)  # [B, M, D], [B, M]
    # Squared distances from pairwise differences: for 2-d points this is several times faster
    # than torch.cdist on small graphs, and ranks neighbours identically.
    distance = (dense.unsqueeze(2) - dense.unsqueeze(1)).square().sum(-1)  # [B, M, M]
    eye = torch.eye(dense.size(1), dtype=torch.bool, device=pos.device)
    distance = distance.masked_fill(~mask[:, None, :] | eye, float("inf"))
    k_eff = min(k, dense.size(1) - 1)
    if k_eff < 1:
        return torch.empty(2, 0, dtype=torch.long, device=pos.device)
    # A stable sort rather than topk: on a pixel grid many distances tie, and ties must go to the
    # lower node index whatever the padding, so a batch gets the same edges as its events alone.
    nearest_distance, nearest = distance.sort(dim=-1, stable=True)
    nearest_distance, nearest = nearest_distance[..., :k_eff], nearest[..., :k_eff]  # [B, M, k]
    offset = torch.cumsum(mask.sum(1), 0) - mask.sum(1)  # first node index of each graph
    target = torch.arange(n, device=pos.device)[:, None].expand(-1, k_eff)
    source = (nearest + offset[:, None, None])[mask]  # [N, k] global indices
    valid = torch.isfinite(nearest_distance[mask])  # small graphs have fewer than k neighbours
    edges = torch.stack([source[valid], target[valid]])
    edges = torch.cat([edges, edges.flip(0)], dim=1)
    keys = torch.unique(edges[1] * n + edges[0])  # sorted, duplicates removed
    return torch.stack([keys % n, keys // n])


def to_dense(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    batch: torch.Tensor,
    max_nodes: int | None = None,
    batch_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparse batch → dense tensors, padded to the largest graph but at most ``max_nodes``.

    Nodes beyond ``max_nodes`` in a graph are dropped together with their edges (PyG's
    ``to_dense_batch``/``to_dense_adj``), so order each graph's nodes by importance first.

    Returns:
        x: [B, M, F] node features (zero-padded), adj: [B, M, M] 0/1 adjacency,
        mask: [B, M] bool, True for real nodes.
    """
    if batch_size is None:
        batch_size = int(batch.max()) + 1 if batch.numel() else 0
    size = int(torch.bincount(batch, minlength=batch_size).max())
    if max_nodes is not None:
        size = min(size, max_nodes)
    dense_x, mask = to_dense_batch(x, batch, max_num_nodes=size, batch_size=batch_size)
    adj = to_dense_adj(edge_index, batch, max_num_nodes=size, batch_size=batch_size)
    return dense_x, adj, mask
