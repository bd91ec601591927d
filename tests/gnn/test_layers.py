"""GraphSAGE stacks, MinCut pooling/unpooling: hand-computed cases, masking, permutations."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import dense_mincut_pool

from gnn.dense_graph_stack import DenseGraphStack
from gnn.graph import knn_graph
from gnn.mincut import MinCutPool, assignment, unpool
from gnn.sage_stack import SAGEStack


@pytest.fixture
def graph():
    torch.manual_seed(1)
    x = torch.randn(10, 4)
    return x, knn_graph(torch.randn(10, 2), k=3)


def test_sage_stack_is_permutation_equivariant(graph):
    x, edge_index = graph
    stack = SAGEStack([4, 8, 8])
    perm = torch.randperm(10)
    inverse = torch.argsort(perm)
    out = stack(x, edge_index)
    out_perm = stack(x[perm], inverse[edge_index])
    assert torch.allclose(out_perm, out[perm], atol=1e-6)


def dense_case(n_real=6, n_pad=3):
    torch.manual_seed(2)
    n = n_real + n_pad
    x = torch.randn(1, n, 4)
    adj = torch.zeros(1, n, n)
    adj[0, :n_real, :n_real] = (torch.rand(n_real, n_real) > 0.5).float()
    adj = ((adj + adj.transpose(1, 2)) > 0).float()
    mask = torch.arange(n).unsqueeze(0) < n_real
    return x, adj, mask


@pytest.mark.parametrize("kind", ["sage", "graph"])
def test_dense_stack_masked_nodes_do_not_leak(kind):
    x, adj, mask = dense_case()
    stack = DenseGraphStack([4, 8, 8], kind=kind)
    out = stack(x, adj, mask)
    x_noise = x.clone()
    x_noise[~mask] = 100.0
    out_noise = stack(x_noise, adj, mask)
    assert torch.allclose(out[mask], out_noise[mask]) and (out_noise[~mask] == 0).all()
    perm = torch.randperm(6)
    perm = torch.cat([perm, torch.arange(6, 9)])
    out_perm = stack(x[:, perm], adj[:, perm][:, :, perm], mask)
    assert torch.allclose(out_perm, out[:, perm], atol=1e-5)


def test_unpool_with_hard_assignment_is_block_constant():
    s = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])  # nodes {0,1}, {2,3}
    x_pool = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    adj_pool = torch.tensor([[[0.0, 0.5], [0.5, 0.0]]])
    x_rec, adj_rec = unpool(x_pool, adj_pool, s)
    assert x_rec[0].tolist() == [[1, 2], [1, 2], [3, 4], [3, 4]]
    assert adj_rec[0].tolist() == [[0, 0, 0.5, 0.5]] * 2 + [[0.5, 0.5, 0, 0]] * 2


def test_mincut_pool_matches_pyg_and_returns_masked_s():
    x, adj, mask = dense_case()
    pool = MinCutPool(4, clusters=3)
    out = pool(x, adj, mask)
    ref = dense_mincut_pool(x, adj, pool.assign(x), mask)
    for mine, theirs in zip((out.x, out.adj, out.mincut_loss, out.ortho_loss), ref, strict=True):
        assert torch.allclose(mine, theirs)
    s = out.assignment
    assert torch.allclose(s[mask].sum(-1), torch.ones(6)) and (s[~mask] == 0).all()
    assert torch.allclose(out.x, s.transpose(1, 2) @ x)  # X_pool = Sᵀ X with the returned S
    assert torch.allclose(assignment(pool.assign(x)).sum(-1), torch.ones(1, 9))
    assert -1.0 <= out.mincut_loss <= 0.0 and out.ortho_loss >= 0.0


def test_mincut_pool_is_permutation_invariant():
    x, adj, mask = dense_case(n_pad=0)
    pool = MinCutPool(4, clusters=3)
    perm = torch.randperm(6)
    out, out_perm = pool(x, adj, mask), pool(x[:, perm], adj[:, perm][:, :, perm], mask)
    assert torch.allclose(out.x, out_perm.x, atol=1e-5)
    assert torch.allclose(out.adj, out_perm.adj, atol=1e-5)
    assert torch.allclose(out.assignment[:, perm], out_perm.assignment)


def test_mincut_term_is_pygs_and_zero_for_a_graph_without_edges():
    """Graphs with edges: PyG's MinCut term. A graph without edges (an event with one hit per
    sub-detector) has nothing to cut: 0, with finite gradients, where PyG gives 0/0 = NaN."""
    x, adj, mask = dense_case()
    x, adj, mask = x.repeat(2, 1, 1), adj.repeat(2, 1, 1), mask.repeat(2, 1)
    pool = MinCutPool(4, 3)
    logits = pool.assign(x)
    _, _, pyg, _ = dense_mincut_pool(x, adj, logits, mask)
    assert torch.allclose(pool(x, adj, mask).mincut_loss, pyg, atol=1e-6)
    adj[1] = 0.0  # the second graph loses every edge
    _, _, pyg, _ = dense_mincut_pool(x, adj, pool.assign(x), mask)
    assert torch.isnan(pyg)
    x.requires_grad_(True)
    out = pool(x, adj, mask)
    _, _, first, _ = dense_mincut_pool(x[:1], adj[:1], pool.assign(x[:1]), mask[:1])
    assert torch.allclose(out.mincut_loss, first / 2, atol=1e-6)  # mean of (first, 0)
    (out.mincut_loss + out.ortho_loss).backward()
    assert torch.isfinite(x.grad).all() and all(
        torch.isfinite(p.grad).all() for p in pool.parameters()
    )
