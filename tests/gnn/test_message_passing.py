"""MPGAN message passing: dropout, hand-computed case, masking, permutations, factorisation."""

from __future__ import annotations

import pytest
import torch

from gnn.message_passing import FullyConnectedMessagePassing
from gnn.mlp import Dropout, mlp


def test_mlp_layout():
    net = mlp([3, 5, 2], final_activation=False, dropout=0.1)
    assert [type(m).__name__ for m in net] == ["Linear", "LeakyReLU", "Dropout", "Linear"]
    with pytest.raises(ValueError, match="input and output"):
        mlp([3])


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keeps_1_minus_p_and_rescales(p):
    dropout = Dropout(p)
    x = torch.full((200_000,), 3.0, requires_grad=True)
    y = dropout(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005  # 5σ at 200k draws is 0.0045
    assert torch.allclose(y[kept], torch.tensor(3.0 / (1 - p)))
    y.sum().backward()  # the gradient flows through kept elements only, with the same scale
    assert torch.equal(x.grad, kept.float() / (1 - p))
    assert torch.equal(dropout.eval()(x), x)


def tiny_layer():
    layer = FullyConnectedMessagePassing(1, 1, edge_hidden=(1,), node_hidden=())
    with torch.no_grad():
        layer.edge_mlp[0].weight.copy_(torch.tensor([[1.0, 2.0]]))  # receiver 1, sender 2
        layer.edge_mlp[0].bias.zero_()
        layer.node_mlp[0].weight.copy_(torch.tensor([[1.0, 10.0]]))  # message 1, node 10
        layer.node_mlp[0].bias.zero_()
    return layer


@pytest.mark.parametrize("pairwise", ["concat", "factorised"])
def test_hand_computed(pairwise):
    layer = tiny_layer()
    layer.pairwise = pairwise
    h = torch.tensor([[[1.0], [-1.0]]])
    # e_ij = lrelu(h_i + 2 h_j): e00 = 3, e01 = lrelu(-1) = -0.2, e10 = 1, e11 = lrelu(-3) = -0.6
    out = layer(h)
    assert torch.allclose(out[0, :, 0], torch.tensor([2.8 + 10, 0.4 - 10]))
    out = layer(h, mask=torch.tensor([[True, False]]))  # sender 1 silenced
    assert torch.allclose(out[0, :, 0], torch.tensor([3.0 + 10, 1.0 - 10]))


def test_parameter_order_and_shapes():
    layer = FullyConnectedMessagePassing(32, 3)
    names = [n for n, _ in layer.named_parameters()]
    assert names[:6] == [f"edge_mlp.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    assert names[6:] == [f"node_mlp.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    shapes = [tuple(p.shape) for p in layer.parameters()][::2]
    assert shapes == [(96, 64), (160, 96), (192, 160), (256, 224), (256, 256), (3, 256)]


def test_masking_permutation_and_factorisation():
    torch.manual_seed(0)
    layer = FullyConnectedMessagePassing(4, 3).eval()
    h = torch.randn(2, 6, 4)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    out = layer(h, mask)
    h_noise = h.clone()
    h_noise[~mask] = torch.randn(3, 4) * 50
    assert torch.allclose(layer(h_noise, mask)[mask], out[mask], atol=1e-5)
    perm = torch.randperm(6)
    assert torch.allclose(layer(h[:, perm], mask[:, perm]), out[:, perm], atol=1e-5)
    layer.pairwise = "factorised"
    assert torch.allclose(layer(h, mask), out, atol=1e-5)
