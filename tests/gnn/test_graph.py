"""kNN graph construction and dense batching with a node cap."""

from __future__ import annotations

import torch

from gnn.graph import knn_graph, to_dense


def edge_set(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def test_knn_on_a_line_is_symmetrised():
    pos = torch.tensor([[0.0], [1.0], [3.0], [10.0]])
    # nearest neighbours: 0→1, 1→0, 3→1, 10→3; symmetrised, duplicates removed
    expected = {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    assert edge_set(knn_graph(pos, k=1)) == expected


def test_knn_batched_equals_per_graph_and_never_crosses_graphs():
    torch.manual_seed(0)
    a, b = torch.randn(7, 2), torch.randn(5, 2)
    batched = knn_graph(torch.cat([a, b]), k=3, batch=torch.tensor([0] * 7 + [1] * 5))
    separate = edge_set(knn_graph(a, 3)) | {(s + 7, t + 7) for s, t in edge_set(knn_graph(b, 3))}
    assert edge_set(batched) == separate
    assert not any((s < 7) != (t < 7) for s, t in edge_set(batched))
    degree = torch.bincount(batched[1], minlength=12)
    assert (degree >= 3).all()  # at least k in-neighbours after symmetrisation


def test_knn_small_graphs():
    assert knn_graph(torch.zeros(1, 2), k=6).shape == (2, 0)
    assert edge_set(knn_graph(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), k=6)) == {(0, 1), (1, 0)}


def test_to_dense_pads_and_caps():
    x = torch.arange(8, dtype=torch.float32).unsqueeze(1)  # graph 0: nodes 0-4, graph 1: 5-7
    batch = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    edge_index = torch.tensor([[0, 1, 3, 4, 5], [1, 0, 4, 3, 6]])
    dense_x, adj, mask = to_dense(x, edge_index, batch, max_nodes=3)
    assert dense_x.shape == (2, 3, 1) and adj.shape == (2, 3, 3)
    assert mask.tolist() == [[True, True, True], [True, True, True]]
    assert dense_x[0, :, 0].tolist() == [0, 1, 2]  # nodes 3 and 4 cut, with their edge
    assert adj[0].sum() == 2 and adj[0, 0, 1] == 1 and adj[1, 0, 1] == 1
    dense_x, adj, mask = to_dense(x, edge_index, batch)
    assert dense_x.shape == (2, 5, 1) and mask[1].tolist() == [True] * 3 + [False] * 2
