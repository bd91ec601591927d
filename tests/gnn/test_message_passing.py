"""MPGAN message passing: layout, a hand-computed case, masking, permutations, and the fast
implementation against the published one (the same maths in fp32; within bf16 precision)."""

from __future__ import annotations

import pytest
import torch

from gnn.message_passing import FullyConnectedMessagePassing
from gnn.mlp import mlp


def test_mlp_layout():
    """Dropout after every Linear, a final linear one included (the published LinearNet)."""
    net = mlp([3, 5, 2], final_activation=False, dropout=0.1)
    assert [type(m).__name__ for m in net] == ["Linear", "LeakyReLUDropout"] * 2
    assert net[1].negative_slope == 0.2 and net[3].negative_slope is None
    assert [type(m).__name__ for m in mlp([3, 5, 2], final_activation=False)] == [
        "Linear",
        "LeakyReLUDropout",
        "Linear",
    ]
    with pytest.raises(ValueError, match="input and output"):
        mlp([3])


def tiny_layer(implementation: str) -> FullyConnectedMessagePassing:
    layer = FullyConnectedMessagePassing(
        1, 1, edge_hidden=(1,), node_hidden=(), implementation=implementation
    )
    with torch.no_grad():
        layer.edge_mlp[0].weight.copy_(torch.tensor([[1.0, 2.0]]))  # receiver 1, sender 2
        layer.edge_mlp[0].bias.zero_()
        layer.node_mlp[0].weight.copy_(torch.tensor([[1.0, 10.0]]))  # message 1, node 10
        layer.node_mlp[0].bias.zero_()
    return layer


@pytest.mark.parametrize("implementation", ["published", "fast"])
def test_hand_computed(implementation):
    layer = tiny_layer(implementation)
    h = torch.tensor([[[1.0], [-1.0]]])
    # e_ij = lrelu(h_i + 2 h_j): e00 = 3, e01 = lrelu(-1) = -0.2, e10 = 1, e11 = lrelu(-3) = -0.6
    out = layer(h)
    assert torch.allclose(out[0, :, 0], torch.tensor([2.8 + 10, 0.4 - 10]))
    out = layer(h, mask=torch.tensor([[True, False]]))  # sender 1 silenced
    assert torch.allclose(out[0, :, 0], torch.tensor([3.0 + 10, 1.0 - 10]))


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_parameter_order_and_shapes(dropout):
    layer = FullyConnectedMessagePassing(32, 3, dropout=dropout)
    names = [n for n, _ in layer.named_parameters()]
    assert names[:6] == [f"edge_mlp.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    assert names[6:] == [f"node_mlp.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    shapes = [tuple(p.shape) for p in layer.parameters()][::2]
    assert shapes == [(96, 64), (160, 96), (192, 160), (256, 224), (256, 256), (3, 256)]
    published = FullyConnectedMessagePassing(32, 3, dropout=dropout, implementation="published")
    assert list(published.state_dict()) == list(layer.state_dict())


def test_masking_permutation_and_fast_equals_published():
    torch.manual_seed(0)
    published = FullyConnectedMessagePassing(4, 3, implementation="published").eval()
    fast = FullyConnectedMessagePassing(4, 3, implementation="fast").eval()
    fast.load_state_dict(published.state_dict())
    h = torch.randn(2, 6, 4)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    for layer in (published, fast):
        out = layer(h, mask)
        h_noise = h.clone()
        h_noise[~mask] = torch.randn(3, 4) * 50  # masked senders carry no message
        assert torch.allclose(layer(h_noise, mask)[mask], out[mask], atol=1e-5)
        perm = torch.randperm(6)
        assert torch.allclose(layer(h[:, perm], mask[:, perm]), out[:, perm], atol=1e-5)
    reference = published(h, mask)
    assert torch.allclose(fast(h, mask), reference, atol=1e-5)  # the same maths
    with torch.autocast("cpu", torch.bfloat16):  # bf16: 8 mantissa bits, ~0.4% per rounding
        low = fast(h, mask).float()
    assert torch.allclose(low, reference, atol=0.05 * reference.abs().max().item())


def test_fp32_output_layer_under_bf16_autocast():
    torch.manual_seed(1)
    layer = FullyConnectedMessagePassing(4, 3, fp32_output=True)
    with torch.autocast("cpu", torch.bfloat16):
        out = layer(torch.randn(2, 6, 4))
    assert out.dtype == torch.float32
    assert not torch.equal(out, out.to(torch.bfloat16).float())  # not on the bf16 grid
