"""GVAE loss terms, each returned separately so training can log them.

On real hits only (mask), with outputs y and targets x = (η/s, φ/s, log10 E, one-hot channel):

    position      = mean ‖y_ηφ − x_ηφ‖²
    energy        = mean (y_E − x_E)²                          (log10 E)
    energy_linear = mean ((10^y_E − 10^x_E) / E_ref)²          E_ref = 100 GeV
    channel       = mean cross-entropy(y_channel scores, channel)
    kl            = mean over clusters and latent dims of −½(1 + log σ² − μ² − σ²)
    total = position + energy + w_lin·energy_linear + channel
            + β·kl + w_mincut·mincut + w_ortho·ortho

The log-space term fits every hit's energy to a factor; alone, it regresses the few hardest hits
(which carry most of an event's energy) to the mean. The linear term weights hits by energy, as
the unnormalised EMD does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from gvae.model import Encoding

ENERGY_REF = 100.0  # GeV
MAX_LOG10_ENERGY = 4.0  # 10 TeV: keeps 10^y finite early in training


@dataclass
class LossWeights:
    """Weights of the GVAE loss terms (reconstruction terms have weight 1)."""

    beta: float = field(default=1e-3, metadata={"help": "KL weight β"})
    linear_energy_weight: float = field(
        default=1.0, metadata={"help": "weight of the linear-energy reconstruction term"}
    )
    mincut_weight: float = field(default=0.1, metadata={"help": "MinCut loss weight"})
    ortho_weight: float = field(default=0.1, metadata={"help": "orthogonality loss weight"})


def gvae_losses(
    output: torch.Tensor, target: torch.Tensor, enc: Encoding, weights: LossWeights
) -> dict[str, torch.Tensor]:
    """All loss terms and their weighted sum ``total``.

    Args:
        output: [B, N, 6] decoder output.
        target: [B, N, 6] dense input features (padded rows ignored).
        enc: the encoding (mask, μ, log σ², pooling losses).
    """
    y, x = output[enc.mask].float(), target[enc.mask].float()  # [n_real, 6]
    losses = {
        "position": (y[:, :2] - x[:, :2]).square().sum(-1).mean(),
        "energy": (y[:, 2] - x[:, 2]).square().mean(),
        "channel": F.cross_entropy(y[:, 3:], x[:, 3:].argmax(-1)),
        "kl": -0.5 * (1 + enc.logvar - enc.mu.square() - enc.logvar.exp()).float().mean(),
        "mincut": enc.mincut_loss.float(),
        "ortho": enc.ortho_loss.float(),
    }
    e_out = torch.pow(10.0, y[:, 2].clamp(max=MAX_LOG10_ENERGY))
    losses["energy_linear"] = ((e_out - torch.pow(10.0, x[:, 2])) / ENERGY_REF).square().mean()
    losses["reconstruction"] = (
        losses["position"]
        + losses["energy"]
        + weights.linear_energy_weight * losses["energy_linear"]
        + losses["channel"]
    )
    losses["total"] = (
        losses["reconstruction"]
        + weights.beta * losses["kl"]
        + weights.mincut_weight * losses["mincut"]
        + weights.ortho_weight * losses["ortho"]
    )
    return losses
