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
