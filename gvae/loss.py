"""GVAE loss terms, each returned separately so training can log them.

On real hits only (mask), with outputs y and targets x = (η/s, φ/s, log10 E, one-hot channel),
``⟨·⟩`` the mean over an event's real hits, then over the events of the batch:

    position      = ⟨‖y_ηφ − x_ηφ‖²⟩
    energy        = ⟨(y_E − x_E)²⟩                              (log10 E)
    energy_linear = ⟨((10^y_E − 10^x_E) / E_ref)²⟩              E_ref = 100 GeV
    channel       = ⟨cross-entropy(y_channel scores, channel)⟩
    kl            = mean over events, clusters and latent dims of −½(1 + log σ² − μ² − σ²)
    total = position + energy + w_lin·energy_linear + channel
            + β·kl + w_mincut·mincut + w_ortho·ortho

The log-space term fits every hit's energy to a factor; alone, it regresses the few hardest hits
(which carry most of an event's energy) to the mean. The linear term weights hits by energy, as
the unnormalised EMD does.

Every term is a mean over events, each event weighing the same whatever its hit count, so the
loss of a batch is the mean of its events' losses: averaging the gradients of two half-batches
(Horovod's allreduce over two ranks) gives exactly the gradient of the whole batch.
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
    y, x, mask = output.float(), target.float(), enc.mask  # [B, N, 6], [B, N, 6], [B, N]
    e_out = torch.pow(10.0, y[..., 2].clamp(max=MAX_LOG10_ENERGY))
    per_hit = {  # [B, N] each
        "position": (y[..., :2] - x[..., :2]).square().sum(-1),
        "energy": (y[..., 2] - x[..., 2]).square(),
        "energy_linear": ((e_out - torch.pow(10.0, x[..., 2])) / ENERGY_REF).square(),
        "channel": F.cross_entropy(
            y[..., 3:].transpose(1, 2), x[..., 3:].argmax(-1), reduction="none"
        ),
    }
    hits = mask.sum(1).clamp(min=1)
    losses = {
        name: (torch.where(mask, value, 0.0).sum(1) / hits).mean()
        for name, value in per_hit.items()
    }
    losses["kl"] = -0.5 * (1 + enc.logvar - enc.mu.square() - enc.logvar.exp()).float().mean()
    losses["mincut"] = enc.mincut_loss.float()
    losses["ortho"] = enc.ortho_loss.float()
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
