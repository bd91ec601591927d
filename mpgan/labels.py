"""Conditioning labels of a conditional MPGAN: chosen JetNet jet features, standardised.

A conditional MPGAN (the published code's ``clabels``; the graph-GAN talk's pT-conditioned GAN)
gives every message-passing layer of both networks the jet's labels: an ordered subset of the
JetNet jet features (pT [GeV], η, mass [GeV], multiplicity), each standardised with the mean and
standard deviation of the training jets. Those statistics live in the generator as buffers
(:class:`LabelScaler`), so a checkpoint carries them and generation reads raw labels.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from events.jetnet import JET_FEATURES  # ("pt", "eta", "mass", "num_particles")


def parse_condition(text: str) -> tuple[str, ...]:
    """``"pt,mass"`` → ("pt", "mass"); "" → () (unconditional). Raises ValueError on bad names."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in JET_FEATURES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"--condition {text!r}: give distinct jet features out of {', '.join(JET_FEATURES)}"
        )
    return names


def label_columns(names: tuple[str, ...]) -> list[int]:
    """Columns of JetNet ``jet_features`` [N, 4] holding ``names``, in their order."""
    return [JET_FEATURES.index(name) for name in names]


class LabelScaler(nn.Module):
    """Raw labels [B, L] (in the order of ``names``) ↔ standardised ones, with the statistics of
    the training jets as buffers ``mean`` and ``std`` [L]."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names
        self.register_buffer("mean", torch.zeros(len(names)))
        self.register_buffer("std", torch.ones(len(names)))

    def fit(self, jet_features: np.ndarray) -> None:
        """Set the statistics from the training jets' ``jet_features`` [N, 4]."""
        raw = torch.from_numpy(jet_features[:, label_columns(self.names)].astype(np.float32))
        self.mean.copy_(raw.mean(0))
        self.std.copy_(raw.std(0).clamp_min(1e-6))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"names={self.names}"
