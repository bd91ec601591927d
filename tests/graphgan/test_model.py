"""The 2020 graph GAN's networks: Table 1's parameter counts, the discriminator's read-out
order (the mean of the first feature's logits, then the sigmoid) and dropout after every
Linear, the generator's tanh of the first 3 of 32 features."""

from __future__ import annotations

import pytest
import torch

from graphgan.model import GraphGANDiscriminator, GraphGANGenerator


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("layers", "edge", "g", "d"),
    [(1, (64, 128), 127_776, 116_640), (1, (96, 160, 192), 184_384, 171_392),
     (2, (64, 128), 255_552, 244_416)],
)  # fmt: skip
def test_table_1_parameter_counts(layers, edge, g, d):
    assert count(GraphGANGenerator(layers, edge)) == g
    assert count(GraphGANDiscriminator(layers, edge)) == d
    first = GraphGANDiscriminator(layers, edge).layers[0].edge_mlp[0]
    assert first.in_features == 7  # (x, y, I) of i and j and their distance


def test_discriminator_reads_out_the_mean_logit_then_the_sigmoid():
    torch.manual_seed(0)
    d = GraphGANDiscriminator(2, (64, 128)).eval()
    x = torch.rand(4, 75, 3) - 0.5
    h = x
    for layer in d.layers:
        h = layer(h)
    assert torch.allclose(d(x), torch.sigmoid(h[..., 0].mean(1)), atol=1e-6)
    assert not torch.allclose(d(x), torch.sigmoid(h[..., 0]).mean(1), atol=1e-4)
    d.train()
    assert not torch.equal(d(x), d(x))  # dropout in training


def test_generator_output_is_tanh_of_three_features():
    torch.manual_seed(1)
    g = GraphGANGenerator(1, (64, 128))
    z = g.noise(2, 100)
    out = g(z)
    assert out.shape == (2, 100, 3) and out.abs().max() < 1
    assert torch.equal(g.train()(z), g.eval()(z))  # no dropout in G


class PublishedGraphGAN(torch.nn.Module):
    """graph-gan's ``Graph_GAN`` (``mnist/model.py``) as ``../shared/references/
    graph_gan_2020.md`` b.1 describes it, restated: pairs A = [x_i ‖ x_j ‖ ‖pos_j − pos_i + 1e-12‖]
    of the [B, N·N] repeat layout, f_e = (Linear, LeakyReLU 0.2, Dropout) per layer, the sum
    over j, f_n = (Linear, LeakyReLU, Dropout) …, last Linear, Dropout; D: σ(mean_i h_i0)."""

    def __init__(self, ours):
        super().__init__()
        self.ours, self.p = ours, ours.layers[0].edge_mlp[-1].p

    def forward(self, x):
        b, n = x.shape[:2]
        drop = torch.nn.functional.dropout
        for layer in self.ours.layers:
            x1 = x.repeat(1, 1, n).view(b, n * n, x.shape[2])
            x2 = x.repeat(1, n, 1)
            dists = torch.norm(x2[:, :, :2] - x1[:, :, :2] + 1e-12, dim=2).unsqueeze(2)
            a = torch.cat((x1, x2, dists), 2).view(b * n * n, -1)
            for linear in [m for m in layer.edge_mlp if isinstance(m, torch.nn.Linear)]:
                a = drop(torch.nn.functional.leaky_relu(linear(a), 0.2), self.p, self.training)
            a = torch.sum(a.view(b, n, n, -1), 2)
            h = torch.cat((a, x), 2).view(b * n, -1)
            linears = [m for m in layer.node_mlp if isinstance(m, torch.nn.Linear)]
            for linear in linears[:-1]:
                h = drop(torch.nn.functional.leaky_relu(linear(h), 0.2), self.p, self.training)
            x = drop(linears[-1](h), self.p, self.training).view(b, n, -1)
        return torch.sigmoid(torch.mean(x[:, :, :1], 1)).view(b)


@pytest.mark.parametrize("layers", [1, 2])
def test_discriminator_trains_as_the_published_one_with_dropout(layers):
    """Training mode, dropout 0.5: the same masks from the same seed, so the same outputs and
    the same gradients of the least-squares loss (the ``published`` implementation; ``fast``
    draws its masks from its own counter-based stream)."""
    torch.manual_seed(0)
    ours = GraphGANDiscriminator(layers, (64, 128), implementation="published").train()
    reference = PublishedGraphGAN(ours).train()
    x = torch.rand(3, 20, 3) - 0.5
    outputs = []
    for model in (ours, reference):
        torch.manual_seed(7)
        out = model(x)
        ((out - 1) ** 2).mean().backward()
        outputs.append((out.detach(), [p.grad.clone() for p in ours.parameters()]))
        ours.zero_grad()
    assert torch.equal(outputs[0][0], outputs[1][0])
    for a, b in zip(outputs[0][1], outputs[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    torch.manual_seed(8)
    assert not torch.equal(ours(x), outputs[0][0])  # another seed, other masks
