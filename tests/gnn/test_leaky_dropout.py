"""The fused LeakyReLU-dropout layer: PyTorch's LeakyReLU exactly without dropout; dropout with
the right keep rate, scale, gradient and independence; reproducible by seed and thread count;
PyTorch's ops when no compiler is there."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from gnn import leaky_dropout
from gnn.leaky_dropout import LeakyReLUDropout


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_without_dropout_it_is_leaky_relu(dtype):
    assert leaky_dropout.kernels() is not None  # this machine builds the kernel
    x = torch.randn(1000, 37, dtype=dtype, requires_grad=True)  # not a multiple of 64
    y = LeakyReLUDropout(0.2)(x)
    reference = F.leaky_relu(x, 0.2)
    assert torch.equal(y, reference)
    g = torch.randn_like(y)
    (fused,) = torch.autograd.grad(y, x, g)
    (expected,) = torch.autograd.grad(reference, x, g)
    assert torch.allclose(
        fused.float(), expected.float(), rtol=1e-2 if dtype != torch.float32 else 0
    )


@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_rate_scale_gradient_and_independence(p, dtype):
    n = 400_000
    x = torch.full((n,), -1.0, dtype=dtype).requires_grad_()
    y = LeakyReLUDropout(0.2, p)(x)
    kept = y != 0
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * sigma
    assert torch.allclose(y[kept].float(), torch.tensor(-0.2 / (1 - p)), rtol=1e-2)
    # Neighbours (within a 64-bit word and across words) are kept independently.
    both = (kept[:-1] & kept[1:]).float().mean().item()
    assert abs(both - (1 - p) ** 2) < 5 * math.sqrt((1 - p) ** 2 / n)
    y.sum().backward()  # through kept elements only: scale × LeakyReLU slope
    assert torch.equal(x.grad != 0, kept)
    assert torch.allclose(x.grad[kept].float(), torch.tensor(0.2 / (1 - p)), rtol=1e-2)


def test_seeded_masks_repeat_and_do_not_depend_on_threads():
    layer = LeakyReLUDropout(0.2, 0.5)
    x = torch.randn(64 * 1000 + 5)
    threads = torch.get_num_threads()
    outputs = []
    for n_threads in (1, 2):
        torch.set_num_threads(n_threads)
        torch.manual_seed(3)
        outputs.append(layer(x))
    torch.set_num_threads(threads)
    assert torch.equal(*outputs)
    assert not torch.equal(layer(x), layer(x))  # fresh masks on every call
    assert torch.equal(layer.eval()(x), F.leaky_relu(x, 0.2))  # eval: no dropout


def test_without_a_compiler_it_falls_back_to_pytorch(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("CC", str(tmp_path / "no-compiler"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    leaky_dropout.kernels.cache_clear()
    try:
        assert leaky_dropout.kernels() is None
        assert "PyTorch ops instead" in caplog.text
        x = torch.randn(5000)
        assert torch.equal(LeakyReLUDropout(0.2)(x), F.leaky_relu(x, 0.2))
        kept = LeakyReLUDropout(0.2, 0.5)(x) != 0
        assert 0.45 < kept.float().mean().item() < 0.55
    finally:
        leaky_dropout.kernels.cache_clear()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_without_activation_it_is_dropout_alone(fused, dtype):
    """``negative_slope=None`` (after a final linear layer): y = x or 0, scaled; eval: y = x."""
    n, p = 200_000, 0.5
    x = torch.randn(n, dtype=dtype).requires_grad_()
    layer = LeakyReLUDropout(None, p, fused)
    y = layer(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    assert torch.equal(y[kept], x[kept] / (1 - p))  # negative inputs are not scaled by a slope
    y.sum().backward()
    assert torch.equal(x.grad, kept.to(dtype) / (1 - p))
    assert torch.equal(layer.eval()(x), x)
