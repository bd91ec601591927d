"""JetNet particle clouds ⇄ MPGAN's normalised inputs, and the training dataset.

Normalisation as in JetNet/MPGAN: each feature divided by its maximum over the JetNet
30-particle data (:data:`evaluation.fpnd.JETNET_MAXIMA`: η 1.6212, φ 0.5207, pT 0.8935), pT then
shifted by −0.5, mask stored as mask − 0.5. Physical particle features (ηrel, φrel, pTrel, mask)
[N, 30, 4] ⇄ normalised [N, 30, 4].
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from evaluation.fpnd import JETNET_MAXIMA


def normalise(particle_features: np.ndarray) -> np.ndarray:
    """Physical (ηrel, φrel, pTrel, mask) → normalised (η', φ', pT', mask − 0.5); [N, 30, 4]."""
    x = np.empty_like(particle_features, dtype=np.float32)
    x[..., :3] = particle_features[..., :3] / JETNET_MAXIMA
    x[..., 2] -= 0.5
    x[..., 3] = particle_features[..., 3] - 0.5
    return x


def denormalise(x: np.ndarray) -> np.ndarray:
    """Normalised jets → physical (ηrel, φrel, pTrel, mask), masked particles' features zeroed."""
    particles = np.empty_like(x, dtype=np.float32)
    particles[..., :3] = x[..., :3]
    particles[..., 2] += 0.5
    particles[..., :3] *= JETNET_MAXIMA
    mask = x[..., 3] > 0
    particles[..., :3] *= mask[..., None]
    particles[..., 3] = mask
    return particles


class JetDataset(Dataset):
    """Normalised jets [N, 30, 4] and their standardised labels [N, L] (L = 0: unconditional);
    item i is (jet [30, 4], labels [L]), so that ``default_collate`` gives ([B, 30, 4], [B, L])."""

    def __init__(self, particle_features: np.ndarray, labels: torch.Tensor | None = None) -> None:
        self.jets = torch.from_numpy(normalise(particle_features))
        self.labels = torch.zeros(len(self.jets), 0) if labels is None else labels.float()

    def __len__(self) -> int:
        return len(self.jets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.jets[index], self.labels[index]
