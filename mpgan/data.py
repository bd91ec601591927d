"""JetNet particle clouds ⇄ MPGAN's normalised inputs, and the training dataset.

Each particle feature (ηrel, φrel, pTrel) is divided by a maximum, pT then shifted by −0.5, the
mask stored as mask − 0.5 (so features lie in about [−1, 1], pT in [−0.5, 0.5]). The maxima
(``--normalisation``):

- ``jetnet``: JetNet's fixed maxima over its 30-particle data (:data:`evaluation.jetnet.
  JETNET_MAXIMA`: η 1.6212, φ 0.5207, pT 0.8935), the same for every class (jetnet's
  ``JetNet.fpnd_norm``, used by the later MPGAN code);
- ``per-class``: the maximum |value| of each feature over the whole training file, train and
  held-out jets together — what the MPGAN code of the paper did per class (``jets_dataset.py``:
  ``max(abs(dataset[:, :, i]))``), and the units the published weights produce.

The generator keeps its maxima as a buffer (``MPGenerator.feature_maxima``), so that jets are
denormalised as they were normalised whatever file a checkpoint meets later.
Physical particle features (ηrel, φrel, pTrel, mask) [N, 30, 4] ⇄ normalised [N, 30, 4].
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from evaluation.jetnet import JETNET_MAXIMA, N_PARTICLES, normalise_features

NORMALISATIONS = ("jetnet", "per-class")


def feature_maxima(particle_features: np.ndarray, normalisation: str = "jetnet") -> np.ndarray:
    """The three maxima [3] (η, φ, pT) of ``normalisation`` (see module docstring) for the jets
    of a file [N, 30, 4].

    Raises:
        ValueError: an unknown normalisation, or a feature that is zero in every jet.
    """
    if normalisation == "jetnet":
        return JETNET_MAXIMA.copy()
    if normalisation != "per-class":
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    maxima = np.abs(particle_features[..., :3]).max(axis=(0, 1)).astype(np.float32)
    if not (maxima > 0).all():
        raise ValueError(f"per-class normalisation: a feature is zero in every jet ({maxima})")
    return maxima


def normalise(particle_features: np.ndarray, maxima: np.ndarray = JETNET_MAXIMA) -> np.ndarray:
    """Physical (ηrel, φrel, pTrel, mask) → normalised (η', φ', pT', mask − 0.5); [N, 30, 4];
    ``maxima`` [3] from :func:`feature_maxima`."""
    mask = particle_features[..., 3:] - 0.5
    return np.concatenate([normalise_features(particle_features, maxima), mask], -1).astype(
        np.float32
    )


def denormalise(x: np.ndarray, maxima: np.ndarray = JETNET_MAXIMA) -> np.ndarray:
    """Normalised jets → physical (ηrel, φrel, pTrel, mask), masked particles' features zeroed;
    ``maxima`` [3]: the ones the jets were normalised with."""
    particles = np.empty_like(x, dtype=np.float32)
    particles[..., :3] = x[..., :3]
    particles[..., 2] += 0.5
    particles[..., :3] *= maxima
    mask = x[..., 3] > 0
    particles[..., :3] *= mask[..., None]
    particles[..., 3] = mask
    return particles


class JetDataset(Dataset):
    """Normalised jets [N, P, 4] and their standardised labels [N, L] (L = 0: unconditional);
    item i is (jet [P, 4], labels [L]), so that ``default_collate`` gives ([B, P, 4], [B, L]).
    ``particles`` P ≥ 30 pads every jet with empty particles, (0, 0, −0.5, −0.5) normalised (the
    published TreeGAN rows: 32, ``pad_hits``)."""

    def __init__(
        self,
        particle_features: np.ndarray,
        labels: torch.Tensor | None = None,
        maxima: np.ndarray = JETNET_MAXIMA,
        particles: int = N_PARTICLES,
    ) -> None:
        n, present, features = particle_features.shape
        if particles < present:
            raise ValueError(f"cannot pad jets of {present} particles to {particles}")
        padded = np.zeros((n, particles, features), dtype=np.float32)
        padded[:, :present] = particle_features
        self.jets = torch.from_numpy(normalise(padded, maxima))
        self.labels = torch.zeros(len(self.jets), 0) if labels is None else labels.float()

    def __len__(self) -> int:
        return len(self.jets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.jets[index], self.labels[index]
