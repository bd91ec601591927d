"""MPGAN generator/discriminator: the published layout, the multiplicity mask, masking and
permutation symmetries, and the discriminator's dropout as the published code applies it in
training."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from gnn.leaky_dropout import LeakyReLUDropout
from mpgan.model import MPDiscriminator, MPGANModelOptions, MPGenerator, multiplicity_mask


def test_mask_has_exactly_n_real_particles_chosen_by_noise_rank():
    z0 = torch.tensor([[0.3, -1.0, 2.0, 0.1]])
    assert multiplicity_mask(z0, torch.tensor([2])).tolist() == [[False, True, False, True]]
    torch.manual_seed(0)
    generator = MPGenerator()
    n = torch.randint(1, 31, (64,))
    jets = generator.sample(n)
    assert jets.shape == (64, 30, 4)
    assert torch.equal((jets[..., 3] > 0).sum(1), n)
    assert set(jets[..., 3].unique().tolist()) == {-0.5, 0.5}
    assert jets[..., :3].abs().max() <= 1.0  # tanh


def test_published_parameter_layout():
    shapes = [tuple(p.shape) for p in MPGenerator().parameters()][::2]  # weights only
    edge, node = [(96, 64), (160, 96), (192, 160)], [(256, 224), (256, 256)]
    assert shapes == edge + node + [(32, 256)] + edge + node + [(3, 256)]
    d_shapes = [tuple(p.shape) for p in MPDiscriminator().parameters()][::2]
    assert d_shapes[0] == (96, 6) and d_shapes[5] == (32, 256) and d_shapes[-1] == (1, 32)
    lfc = MPGenerator(MPGANModelOptions(generator="lfc"))
    assert lfc.sample(torch.tensor([5, 30])).shape == (2, 30, 4)


def test_generator_equivariance_and_masked_noise_invariance():
    torch.manual_seed(1)
    generator = MPGenerator()
    z, n = generator.noise(4), torch.tensor([3, 10, 29, 30])
    out = generator(z, n)
    perm = torch.randperm(30)
    assert torch.allclose(generator(z[:, perm], n), out[:, perm], atol=1e-5)
    mask = out[..., 3] > 0
    z2 = z.clone()
    z2[..., 1:][~mask] = torch.randn(int((~mask).sum()), 31)  # keep z[..., 0], so the ranks
    assert torch.allclose(generator(z2, n)[mask], out[mask], atol=1e-5)


def test_discriminator_invariance_and_masking():
    torch.manual_seed(2)
    discriminator = MPDiscriminator().eval()
    jets = MPGenerator().sample(torch.tensor([4, 17, 30])).detach()
    score = discriminator(jets)
    assert score.shape == (3,) and ((score > 0) & (score < 1)).all()
    perm = torch.randperm(30)
    assert torch.allclose(discriminator(jets[:, perm]), score, atol=1e-5)
    noisy = jets.clone()
    masked = noisy[..., 3] < 0
    noisy[..., :3][masked] = torch.randn(int(masked.sum()), 3)
    assert torch.allclose(discriminator(noisy), score, atol=1e-5)


def test_fast_path_gives_the_published_jets_and_keeps_pt_resolution():
    torch.manual_seed(3)
    published = MPGenerator(MPGANModelOptions(implementation="published"))
    fast = MPGenerator(MPGANModelOptions(implementation="fast"))
    fast.load_state_dict(published.state_dict())
    z, n = published.noise(8), torch.randint(1, 31, (8,))
    reference = published(z, n)
    assert torch.allclose(fast(z, n), reference, atol=1e-5)  # the same maths in fp32
    with torch.autocast("cpu", torch.bfloat16):
        low = fast(z, n)
    # Features within bf16 precision; the output layer and tanh stay fp32, so pT is not
    # quantised to bf16's 8 mantissa bits.
    assert low.dtype == torch.float32 and torch.allclose(low, reference, atol=0.02)
    pt = low[..., 2][low[..., 3] > 0]
    assert not torch.equal(pt, pt.to(torch.bfloat16).float())


def test_discriminator_read_out_keeps_its_gradient_under_bf16():
    """A confident D (logit ≈ 8) still passes a gradient to G under bf16 autocast: in bf16 the
    sigmoid would be exactly 1 there and G's LSGAN gradient exactly 0."""
    torch.manual_seed(4)
    generator, discriminator = MPGenerator(), MPDiscriminator()
    with torch.no_grad():
        discriminator.out.weight.zero_()
        discriminator.out.bias.fill_(8.0)
        discriminator.out.weight[0, 0] = 1e-3  # keep the score a function of the jets
    with torch.autocast("cpu", torch.bfloat16):
        score = discriminator(generator.sample(torch.randint(1, 31, (4,))))
        ((score - 1) ** 2).mean().backward()
    assert score.dtype == torch.float32 and (score < 1).all()
    grad = torch.cat([p.grad.flatten() for p in generator.parameters() if p.grad is not None])
    assert grad.abs().max() > 0


def published_discriminator(d: MPDiscriminator, x: torch.Tensor, p: float) -> torch.Tensor:
    """The published MPGAN discriminator's training-mode forward (rkansal47/MPGAN
    ``mpgan/model.py``: ``LinearNet``, ``MPLayer`` fully connected with ``mask_c``,
    ``MPDiscriminator`` with ``dea``, sigmoid), restated with functional ops on ``d``'s weights:
    pairs built by ``repeat`` as [B·N·N, 2F], every Linear followed by LeakyReLU unless it is a
    network's final linear one, and by dropout in every case."""

    def linear_net(h, linears, final_linear):
        for i, linear in enumerate(linears):
            h = F.linear(h, linear.weight, linear.bias)
            if i != len(linears) - 1 or not final_linear:
                h = F.leaky_relu(h, 0.2)
            h = F.dropout(h, p, training=True)
        return h

    def mp_layer(layer, h, mask):  # MPLayer, fully connected, masked senders
        batch, n, size = h.shape
        receivers = h.repeat(1, 1, n).view(batch, n * n, size)
        senders = h.repeat(1, n, 1)
        pairs = torch.cat((receivers, senders), 2).view(batch * n * n, 2 * size)
        edges = linear_net(pairs, layer.edge_mlp[0::2], final_linear=False)
        edges = edges.view(batch, n, n, -1) * mask.unsqueeze(1)
        nodes = torch.cat((edges.sum(2), h), 2).view(batch * n, -1)
        return linear_net(nodes, layer.node_mlp[0::2], final_linear=True).view(batch, n, -1)

    mask = x[:, :, -1:] + 0.5  # [B, N, 1]
    h = x[:, :, :-1]
    for layer in d.layers:
        h = mp_layer(layer, h, mask)
    pooled = (h * mask).sum(1)
    return torch.sigmoid(linear_net(pooled, [d.out], final_linear=True)).squeeze(-1)


def real_like_jets(count: int, seed: int, slots: int = 30) -> torch.Tensor:
    """Jets in the discriminator's input layout with random multiplicities (masked slots 0);
    fewer ``slots`` than 30 make a large batch cheap (the discriminator takes any number)."""
    generator = torch.Generator().manual_seed(seed)
    n = torch.randint(1, slots + 1, (count,), generator=generator)
    mask = torch.arange(slots) < n[:, None]
    features = torch.rand(count, slots, 3, generator=generator) - 0.5
    return torch.cat([features * mask[..., None], mask[..., None].float() - 0.5], -1)


def test_published_discriminator_in_training_mode_is_the_published_code():
    """From the same weights and seed, the published path's train-mode scores are the
    published module's (dropout after every Linear: each node network's last layer and the
    logit included). A discriminator that drops out only after activations fails this."""
    torch.manual_seed(5)
    d = MPDiscriminator(MPGANModelOptions(implementation="published")).train()
    jets = real_like_jets(16, seed=6)
    torch.manual_seed(7)
    ours = d(jets)
    torch.manual_seed(7)
    assert torch.equal(ours, published_discriminator(d, jets, 0.5))
    assert not torch.equal(ours, d(jets))  # fresh masks: training mode really drops out


@pytest.mark.parametrize(
    ("implementation", "amp"), [("published", None), ("fast", None), ("fast", torch.bfloat16)]
)
def test_about_half_the_jets_score_exactly_one_half_in_training(implementation, amp):
    """The read-out dropout zeroes about half the logits: D = σ(0) = 0.5 exactly for them."""
    torch.manual_seed(8)
    d = MPDiscriminator(MPGANModelOptions(implementation=implementation)).train()
    jets = real_like_jets(2000, seed=9, slots=8)
    with torch.no_grad(), torch.autocast("cpu", amp or torch.float32, enabled=amp is not None):
        score = d(jets)
    half = (score == 0.5).float().mean().item()
    assert 0.444 < half < 0.556  # 5σ for 2000 jets at p = 0.5
    assert not (d.eval()(jets) == 0.5).any()  # eval: no dropout


def dropout_rates(d: MPDiscriminator, jets: torch.Tensor) -> list[tuple[float, int]]:
    """(fraction of zeros, elements) after every dropout site of ``d``, in forward order."""
    rates: list[tuple[float, int]] = []
    sites = [m for m in d.modules() if isinstance(m, LeakyReLUDropout | torch.nn.Dropout)]
    hooks = [
        m.register_forward_hook(
            lambda _, __, y: rates.append(((y == 0).float().mean().item(), y.numel()))
        )
        for m in sites
    ]
    with torch.no_grad():
        d(jets)
    for hook in hooks:
        hook.remove()
    return rates


def test_fast_and_published_drop_out_alike_at_every_site():
    """Both implementations drop out at the published code's 13 sites (per MP layer: 3 edge,
    3 node; the logit), each at rate 0.5; the generator drops out nowhere."""
    jets = real_like_jets(200, seed=10)
    rates = {}
    for implementation in ("published", "fast"):
        torch.manual_seed(11)
        rates[implementation] = dropout_rates(
            MPDiscriminator(MPGANModelOptions(implementation=implementation)).train(), jets
        )
    assert len(rates["published"]) == len(rates["fast"]) == 2 * (3 + 3) + 1
    for (published, size), (fast, _) in zip(rates["published"], rates["fast"], strict=True):
        tolerance = 5 * math.sqrt(0.25 / size)  # 5σ of a rate 0.5 over this site's elements
        assert abs(published - 0.5) < tolerance and abs(fast - 0.5) < tolerance
    generator = MPGenerator().train()
    z, n = generator.noise(8), torch.randint(1, 31, (8,))
    assert torch.equal(generator(z, n), generator(z, n))
