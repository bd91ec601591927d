"""MPGAN generator and discriminator, as published (Kansal et al., NeurIPS 2021).

Particle clouds x: [B, N = 30, 4] = (η', φ', pT', mask − 0.5) in the normalised units of
:mod:`mpgan.data`. Both networks stack :class:`gnn.message_passing.FullyConnectedMessagePassing`
layers (edge MLP 96-160-192, node MLP 256-256, LeakyReLU 0.2, sum aggregation, messages from
masked senders zeroed).

Generator (MP): z ~ N(0, 0.2²) [B, 30, 32] and multiplicities n [B] (1…30). Particle k of jet b
is real iff its rank in ascending z[b, :, 0] is < n[b]; then MP 32→32, MP 32→3, tanh; output
(features, mask − 0.5). MP-LFC: a latent [B, 128] → Linear(128 → 30·32) → the same stack.
Discriminator (MP): mask from x[..., 3] > 0, MP 3→32 and 32→32, masked sum over real
particles, Linear(32→1), sigmoid (the read-out in float32). Dropout 0.5 (training mode only)
after every Linear, as the published ``LinearNet`` applies it: after each activation, after each
node network's last Linear (its 32 outputs) and after the read-out Linear, i.e. on the logit
before the sigmoid: in training about half the jets of a batch get D = σ(0) = 0.5 exactly and
the others a doubled logit, so the least-squares losses stay above ≈ 0.25 (D) and ≈ 0.125 (G).

Conditional (``--condition pt,mass``, as the published code's ``clabels``): both networks take
the jets' standardised labels c [B, L] (:mod:`mpgan.labels`) into every MP layer; the generator
keeps their statistics (``labels.mean``/``labels.std``). Without a condition nothing changes:
the same parameters and outputs as the published model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from evaluation.jetnet import JETNET_MAXIMA, N_PARTICLES
from gnn.message_passing import IMPLEMENTATIONS, FullyConnectedMessagePassing
from mpgan.labels import LabelScaler, parse_condition

N_FEATURES = 3


@dataclass
class MPGANModelOptions:
    """MPGAN architecture (defaults: the paper's gluon configuration)."""

    generator: str = field(
        default="mp",
        metadata={
            "help": "mp (per-particle noise) or lfc (latent vector)",
            "choices": ["mp", "lfc"],
        },
    )
    latent: int = field(default=32, metadata={"help": "noise size per particle"})
    noise_std: float = field(default=0.2, metadata={"help": "σ of the generator noise"})
    dropout: float = field(default=0.5, metadata={"help": "discriminator dropout"})
    implementation: str = field(
        default="fast",
        metadata={
            "help": "message passing as the published code computes it, or fast (the same maths "
            "and parameters: factorised first edge layer, masked sum as a product, dropout "
            "masks from random bits; gnn/message_passing.py)",
            "choices": list(IMPLEMENTATIONS),
        },
    )
    condition: str = field(
        default="",
        metadata={
            "help": "conditional GAN on these jet features, comma-separated, in order, out of "
            "pt, eta, mass, num_particles (default: none, the published unconditional model)"
        },
    )

    def __post_init__(self) -> None:
        parse_condition(self.condition)  # ValueError on bad names

    @property
    def labels(self) -> tuple[str, ...]:
        """The conditioning features, in order (empty: unconditional)."""
        return parse_condition(self.condition)


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The MPGAN's mixed precision on ``device`` (``--amp auto``): bfloat16 where the device
    computes it natively — CUDA GPUs with bf16 (Ampere and later), CPUs with AVX512-BF16 or AMX
    (Zen 4/5, Sapphire Rapids; there bf16 matrix products run 4–6× fp32's) — else None (fp32):
    on an AVX2-only CPU (Zen 3, measured here) bf16 is emulated and a training step ~16× slower
    than fp32 (docs/benchmarks.md)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return torch.bfloat16 if native else None


def multiplicity_mask(z0: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Mask [B, N]: particle k is real iff its rank in ascending z0[b] is < n[b]. z0: [B, N]."""
    rank = torch.argsort(torch.argsort(z0, dim=1), dim=1)
    return rank < n.unsqueeze(1)


class MPGenerator(nn.Module):
    """``generator(z, n, c)`` → jets [B, 30, 4]; ``sample(n, c)`` draws the noise itself
    (c: standardised labels [B, L] of a conditional model, else None)."""

    def __init__(self, cfg: MPGANModelOptions | None = None) -> None:
        super().__init__()
        cfg = cfg or MPGANModelOptions()
        self.cfg = cfg
        if cfg.generator == "lfc":
            self.lfc = nn.Linear(128, N_PARTICLES * cfg.latent)
        self.layers = nn.ModuleList(
            FullyConnectedMessagePassing(
                cfg.latent,
                n_out,
                implementation=cfg.implementation,
                fp32_output=n_out == N_FEATURES,  # the particle features: full resolution
                label_features=len(cfg.labels),
            )
            for n_out in (cfg.latent, N_FEATURES)
        )
        if cfg.labels:
            self.labels = LabelScaler(cfg.labels)  # raw → standardised labels (fit by the task)
        # The (η, φ, pT) maxima the training jets were normalised with (mpgan.data), set by the
        # task; checkpoints from before it existed were trained with JetNet's.
        self.register_buffer("feature_maxima", torch.from_numpy(JETNET_MAXIMA.copy()))
        self.register_load_state_dict_pre_hook(_jetnet_maxima_if_missing)

    def noise(self, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """z ~ N(0, σ²): [B, 30, latent] (MP) or [B, 128] (LFC)."""
        shape = (
            (batch, 128) if self.cfg.generator == "lfc" else (batch, N_PARTICLES, self.cfg.latent)
        )
        return torch.randn(shape, device=device) * self.cfg.noise_std

    def forward(
        self, z: torch.Tensor, n: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.lfc(z).view(-1, N_PARTICLES, self.cfg.latent) if self.cfg.generator == "lfc" else z
        mask = multiplicity_mask(h[..., 0], n)
        for layer in self.layers:
            h = layer(h, mask, labels)
        return torch.cat([torch.tanh(h), mask.unsqueeze(-1).to(h.dtype) - 0.5], dim=-1)

    def sample(self, n: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Jets [B, 30, 4] for multiplicities n [B] (and standardised labels), fresh noise."""
        return self(self.noise(len(n), n.device), n, labels)


def _jetnet_maxima_if_missing(module: MPGenerator, state_dict: dict, prefix: str, *_) -> None:
    """A generator saved before it kept its maxima was trained with JetNet's."""
    state_dict.setdefault(prefix + "feature_maxima", torch.from_numpy(JETNET_MAXIMA.copy()))


class MPDiscriminator(nn.Module):
    """``discriminator(x, c)`` → probability real [B] for jets x [B, 30, 4] (and their
    standardised labels c [B, L] in a conditional model)."""

    def __init__(self, cfg: MPGANModelOptions | None = None) -> None:
        super().__init__()
        cfg = cfg or MPGANModelOptions()
        self.layers = nn.ModuleList(
            FullyConnectedMessagePassing(
                n_in,
                32,
                dropout=cfg.dropout,
                implementation=cfg.implementation,
                label_features=len(cfg.labels),
            )
            for n_in in (N_FEATURES, 32)
        )
        self.out = nn.Linear(32, 1)
        self.out_dropout = nn.Dropout(cfg.dropout)  # on the logit, as published

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        mask = x[..., 3] > 0
        h = x[..., :N_FEATURES]
        for layer in self.layers:
            h = layer(h, mask, labels)
        # The read-out in float32 even under autocast: a bf16 sigmoid is exactly 1 for logits
        # above ~6, where its gradient vanishes for D and G alike (a D that wins once stays dead).
        with torch.autocast(x.device.type, enabled=False):
            pooled = (h.float() * mask.unsqueeze(-1)).sum(1)  # masked sum over real particles
            return torch.sigmoid(self.out_dropout(self.out(pooled))).squeeze(-1)
