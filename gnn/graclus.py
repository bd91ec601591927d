"""Graclus pooling's clustering (Dhillon, Guan, Kulis 2007): a greedy maximal matching of a
weighted graph, each node paired with at most one neighbour. PyG's ``graclus`` needs pyg-lib or
torch-cluster, which have no wheels for the pinned torch; this is torch-cluster's parallel (CUDA)
algorithm (``csrc/cuda/graclus_cuda.cu``) written with tensor operations, so that it runs on
every device at the speed of a few dozen vectorised passes:

    repeat while a node is unmatched:
        colour each unmatched node blue with probability 0.53406, else red;
        every blue node proposes to its unmatched red neighbour of the largest weight;
        every red node accepts its proposer of the largest weight: both get the cluster
        min(u, v);
        an unmatched node without unmatched neighbours stays alone (cluster = itself).

Ties of weight go to the neighbour listed last, as the CUDA kernels' ``>=``. Steps run in
lock-step (the kernels' threads may see each other's writes of the same pass; the matching is a
maximal matching either way). The colours are drawn from ``generator``, so a seeded generator
gives the same clusters on every run. Matching is by the edges given, so clusters never cross
the graphs of a batch.
"""

from __future__ import annotations

import torch

BLUE = 0.53406  # torch-cluster's probability of colouring a node blue


def graclus(
    edge_index: torch.Tensor,
    weight: torch.Tensor,
    num_nodes: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Cluster of every node [num_nodes] (int64: the smaller index of its pair, or its own).

    Args:
        edge_index: [2, E] directed edges (row → col) of a symmetric graph, no self-loops needed.
        weight: [E] non-negative edge weights (PyG's ``normalized_cut`` in MoNet).
        num_nodes: N.
        generator: the colours' random stream, a CPU generator (seed it for reproducible
            clusters); the colours move to the edges' device.

    Raises:
        ValueError: ``edge_index`` not [2, E], ``weight`` not [E], or a weight not finite.
    """
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or weight.shape != edge_index[0].shape:
        raise ValueError(
            f"edge_index [2, E] and weight [E], got {edge_index.shape}, {weight.shape}"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("graclus needs finite edge weights")
    device = edge_index.device
    row, col = edge_index
    keep = row != col
    row, col, weight = row[keep], col[keep], weight[keep]
    nodes = torch.arange(num_nodes, device=device)
    if len(row) == 0:
        return nodes
    cluster = torch.full((num_nodes,), -1, dtype=torch.long, device=device)
    while True:
        unmatched = cluster < 0
        if not bool(unmatched.any()):
            return cluster
        draw = torch.rand(num_nodes, generator=generator, device="cpu").to(device)
        blue, red = unmatched & (draw < BLUE), unmatched & (draw >= BLUE)
        open_neighbour = torch.zeros(num_nodes, dtype=torch.bool, device=device)
        open_neighbour[row[unmatched[col]]] = True
        # Blue proposes to its heaviest red neighbour.
        edge = _heaviest(row, weight, blue[row] & red[col], num_nodes)
        proposal = torch.where(edge >= 0, col[edge.clamp(min=0)], -1)
        # Red accepts its heaviest blue proposer (an edge red → blue whose blue proposed to it).
        candidate = red[row] & blue[col] & (proposal[col] == row)
        edge = _heaviest(row, weight, candidate, num_nodes)
        partner = torch.where(edge >= 0, col[edge.clamp(min=0)], -1)
        accepted = partner >= 0
        pair = torch.minimum(nodes[accepted], partner[accepted])
        cluster[nodes[accepted]] = pair
        cluster[partner[accepted]] = pair
        alone = unmatched & ~open_neighbour
        cluster[alone] = nodes[alone]


def _heaviest(
    row: torch.Tensor, weight: torch.Tensor, allowed: torch.Tensor, num_nodes: int
) -> torch.Tensor:
    """For every node u, the index of its allowed edge u → v of the largest weight (ties: the
    last edge), −1 where it has none: [num_nodes]."""
    edges = allowed.nonzero().squeeze(1)
    row, weight = row[edges], weight[edges]
    best = torch.full((num_nodes,), -torch.inf, dtype=weight.dtype, device=row.device)
    best = best.scatter_reduce(0, row, weight, "amax")
    top = weight == best[row]
    last = torch.full((num_nodes,), -1, dtype=torch.long, device=row.device)
    return last.scatter_reduce(0, row[top], edges[top], "amax")
