"""MPGAN generator/discriminator: the published layout, the multiplicity mask, masking and
permutation symmetries."""

from __future__ import annotations

import torch

from mpgan.model import MPDiscriminator, MPGANConfig, MPGenerator, multiplicity_mask


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
    lfc = MPGenerator(MPGANConfig(generator="lfc"))
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
    published = MPGenerator(MPGANConfig(implementation="published"))
    fast = MPGenerator(MPGANConfig(implementation="fast"))
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
