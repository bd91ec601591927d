"""What every jet generator of the MPGAN family gives the task, generation and reports.

A generator maps noise z (its own shape, drawn N(0, σ²) as the published ``get_gen_noise``) and
the multiplicities n [B] to jets [B, P, 4] = (η', φ', pT', mask − 0.5) in the normalised units of
:mod:`mpgan.data`, P particle slots (30; TreeGAN 32):

- a *masked* generator (MP, MP-LFC, the MP + PointNet row's) writes exactly n[b] real particles
  (mask + 0.5), the others − 0.5;
- an unmasked one (FC, GraphCNN, TreeGAN, the older MP of MP + FC) ignores n and writes every
  slot as a particle: it must learn to emit the zero-padded ones itself, (0, 0, −0.5) normalised,
  as the published rows did (their real jets lost the mask feature); so every slot is real to
  the metrics, as in the paper's evaluation.

Each generator keeps the (η, φ, pT) maxima its training jets were normalised with
(``feature_maxima``), so jets are denormalised as they were normalised, whatever file a
checkpoint meets later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from evaluation.jetnet import JETNET_MAXIMA

if TYPE_CHECKING:
    from mpgan.model import MPGANModelOptions


class JetGenerator(nn.Module):
    """Base of the generators: noise, sampling, maxima (see module docstring).

    Args:
        cfg: the architecture options (σ of z: ``cfg.noise_std``, the published 0.2).
        noise_shape: z's shape per jet, e.g. (30, 32) or (128,).
        particles: P, particle slots per jet.
        masked: whether the generator places n real particles (else all P are real).
    """

    def __init__(
        self, cfg: MPGANModelOptions, noise_shape: Sequence[int], particles: int, masked: bool
    ) -> None:
        super().__init__()
        self.cfg, self.noise_shape, self.noise_std = cfg, tuple(noise_shape), cfg.noise_std
        self.particles, self.masked = particles, masked
        self.register_buffer("feature_maxima", torch.from_numpy(JETNET_MAXIMA.copy()))

    def noise(self, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """z ~ N(0, σ²): [B, *noise_shape]."""
        return torch.randn((batch, *self.noise_shape), device=device) * self.noise_std

    def sample(self, n: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Jets [B, P, 4] for multiplicities n [B] (and standardised labels), fresh noise."""
        return self(self.noise(len(n), n.device), n, labels)

    @staticmethod
    def all_real(features: torch.Tensor) -> torch.Tensor:
        """An unmasked generator's particles [B, P, 3] → jets [B, P, 4], every slot real."""
        return torch.cat([features, features.new_full((*features.shape[:2], 1), 0.5)], dim=-1)

    def check_unconditional(self, labels: torch.Tensor | None) -> None:
        if labels is not None:
            raise ValueError(f"{type(self).__name__} takes no conditioning labels")
