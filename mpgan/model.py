"""MPGAN generator and discriminator, as published (Kansal et al., NeurIPS 2021), and the options
that pick a generator × discriminator of the paper's Table 2 (:mod:`mpgan.networks`).

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

The paper's other "MP" networks are these two with options (``rkansal47/MPGAN``
``mpgan/old_model.py``, ``Graph_GAN``; equivalence shown by loading the published weights,
``tests/mpgan/test_published.py``):

- ``--no-particle-mask``: no mask anywhere — the generator writes all 30 slots (the MP + FC row,
  whose gluon generator is also MP-LFC), the discriminator reads 3 features and sums over every
  particle (the FC + MP, GraphCNN + MP and TreeGAN + MP rows);
- ``--edge-distance``: the generator's edge networks also read ‖h_j − h_i + 10⁻¹²‖ over its 32
  hidden features (the MP + PointNet row);
- ``--loss wgan-gp``: the discriminator's read-out is the logit (no sigmoid), as ``Graph_GAN``
  and ``MPDiscriminator`` build it for the ``w`` loss.

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
from mpgan.generator import JetGenerator
from mpgan.labels import LabelScaler, parse_condition
from mpgan.networks import DISCRIMINATORS, GENERATORS

N_FEATURES = 3
# What a checkpoint's parameters compute (see gvae/model.py): the trainer refuses to resume
# across versions (mpgan/spec.py hands it on), MPGANTask.from_checkpoint to read another's.
MODEL_VERSION = 1
LFC_LATENT = 128  # MP-LFC's latent vector (the published lfc_latent_size)


@dataclass
class MPGANModelOptions:
    """MPGAN architecture (defaults: the paper's gluon MP + MP; other Table 2 rows set theirs)."""

    generator: str = field(
        default="mp",
        metadata={
            "help": "mp (message passing, per-particle noise), lfc (MP from a latent vector), "
            "fc (r-GAN), graphcnn (GraphCNN-GAN), treegan (TreeGAN, 32 particles); a generator "
            "x discriminator pair sets its Table 2 row's procedure as defaults (mpgan/rows.py)",
            "choices": list(GENERATORS),
        },
    )
    discriminator: str = field(
        default="mp",
        metadata={
            "help": "mp (message passing), fc (r-GAN's point network + max pooling), "
            "pointnet-mix (max and mean pooling)",
            "choices": list(DISCRIMINATORS),
        },
    )
    loss: str = field(
        default="ls",
        metadata={
            "help": "ls (least squares, D in [0, 1]) or wgan-gp (Wasserstein with gradient "
            "penalty; the MP discriminator then reads out its logit, as published)",
            "choices": ["ls", "wgan-gp"],
        },
    )
    particle_mask: bool = field(
        default=True,
        metadata={
            "help": "jets carry a mask: an MP generator places the real jets' multiplicities, "
            "MP and PointNet-Mix discriminators ignore masked particles (the published MP+MP, "
            "MP-LFC+MP and MP+PointNet rows); without it every slot is a particle"
        },
    )
    edge_distance: bool = field(
        default=False,
        metadata={"help": "MP generator: the pair distance as an edge feature (MP+PointNet row)"},
    )
    point_layers: str = field(
        default="",
        metadata={
            "help": "FC / PointNet-Mix discriminator: per-particle widths, comma-separated "
            "(empty: 64,128,256,512 / 64,128,1024)"
        },
    )
    head_layers: str = field(
        default="",
        metadata={
            "help": "FC / PointNet-Mix discriminator: widths after pooling (empty: 128,64 / 512)"
        },
    )
    latent: int = field(default=32, metadata={"help": "MP generator: noise size per particle"})
    noise_std: float = field(default=0.2, metadata={"help": "σ of the generator noise"})
    dropout: float = field(default=0.5, metadata={"help": "MP discriminator dropout"})
    implementation: str = field(
        default="fast",
        metadata={
            "help": "message passing and GraphCNN convolutions as the published code computes "
            "them, or fast (the same maths and parameters: gnn/message_passing.py, "
            "gnn/dynamic_edge_conditioned_conv.py)",
            "choices": list(IMPLEMENTATIONS),
        },
    )
    condition: str = field(
        default="",
        metadata={
            "help": "conditional GAN on these jet features, comma-separated, in order, out of "
            "pt, eta, mass, num_particles (default: none, the published unconditional model; "
            "MP networks only)"
        },
    )

    def __post_init__(self) -> None:
        parse_condition(self.condition)  # ValueError on bad names
        mp_generator = self.generator in ("mp", "lfc")
        if self.condition and not (mp_generator and self.discriminator == "mp"):
            raise ValueError("--condition needs the MP generator and discriminator")
        if self.particle_mask and not mp_generator:
            raise ValueError(
                f"--generator {self.generator} writes every particle slot: use --no-particle-mask"
            )
        if self.particle_mask and self.discriminator == "fc":
            raise ValueError("--discriminator fc reads no mask (r-GAN's): use --no-particle-mask")
        if self.edge_distance and not mp_generator:
            raise ValueError("--edge-distance is an option of the MP generator")
        for name in ("point_layers", "head_layers"):
            widths(getattr(self, name), name)  # ValueError if malformed

    @property
    def labels(self) -> tuple[str, ...]:
        """The conditioning features, in order (empty: unconditional)."""
        return parse_condition(self.condition)


def widths(text: str, name: str = "widths", default: tuple[int, ...] = ()) -> tuple[int, ...]:
    """``"64,128"`` → (64, 128); "" → ``default``. Raises ValueError naming the option."""
    try:
        values = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        values = (0,)
    if any(w < 1 for w in values):
        raise ValueError(
            f"--{name.replace('_', '-')} {text!r}: expected positive integers, e.g. 64,128"
        )
    return values or default


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


def probability(head: nn.Module, pooled: torch.Tensor) -> torch.Tensor:
    """σ(head(pooled)) [B] in float32 even under autocast (the FC and PointNet-Mix read-outs): a
    bf16 sigmoid is exactly 1 above a logit of ~6, where both networks' gradients vanish, and
    rounds a probability to 8 bits."""
    with torch.autocast(pooled.device.type, enabled=False):
        full = torch.promote_types(pooled.dtype, torch.float32)
        return torch.sigmoid(head(pooled.to(full))).squeeze(-1)


class MPGenerator(JetGenerator):
    """``generator(z, n, c)`` → jets [B, 30, 4]; ``sample(n, c)`` draws the noise itself
    (c: standardised labels [B, L] of a conditional model, else None)."""

    def __init__(self, cfg: MPGANModelOptions | None = None) -> None:
        cfg = cfg or MPGANModelOptions()
        lfc = cfg.generator == "lfc"
        noise = (LFC_LATENT,) if lfc else (N_PARTICLES, cfg.latent)
        super().__init__(cfg, noise, N_PARTICLES, masked=cfg.particle_mask)
        if lfc:
            self.lfc = nn.Linear(LFC_LATENT, N_PARTICLES * cfg.latent)
        self.layers = nn.ModuleList(
            FullyConnectedMessagePassing(
                cfg.latent,
                n_out,
                implementation=cfg.implementation,
                fp32_output=n_out == N_FEATURES,  # the particle features: full resolution
                label_features=len(cfg.labels),
                distance_features=cfg.latent if cfg.edge_distance else 0,
            )
            for n_out in (cfg.latent, N_FEATURES)
        )
        if cfg.labels:
            self.labels = LabelScaler(cfg.labels)  # raw → standardised labels (fit by the task)
        # Checkpoints from before the generator kept its maxima were trained with JetNet's.
        self.register_load_state_dict_pre_hook(_jetnet_maxima_if_missing)

    def forward(
        self, z: torch.Tensor, n: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.lfc(z).view(-1, N_PARTICLES, self.cfg.latent) if self.cfg.generator == "lfc" else z
        mask = multiplicity_mask(h[..., 0], n) if self.masked else None
        for layer in self.layers:
            h = layer(h, mask, labels)
        if mask is None:
            return self.all_real(torch.tanh(h))
        return torch.cat([torch.tanh(h), mask.unsqueeze(-1).to(h.dtype) - 0.5], dim=-1)


def _jetnet_maxima_if_missing(module: MPGenerator, state_dict: dict, prefix: str, *_) -> None:
    """A generator saved before it kept its maxima was trained with JetNet's."""
    state_dict.setdefault(prefix + "feature_maxima", torch.from_numpy(JETNET_MAXIMA.copy()))


class MPDiscriminator(nn.Module):
    """``discriminator(x, c)`` → score [B] for jets x [B, N, 4] (and their standardised labels
    c [B, L] in a conditional model): the probability real (``--loss ls``) or the critic's
    logit (``wgan-gp``). Without ``particle_mask`` it reads (η', φ', pT') of every slot."""

    def __init__(self, cfg: MPGANModelOptions | None = None) -> None:
        super().__init__()
        cfg = cfg or MPGANModelOptions()
        self.masked, self.sigmoid = cfg.particle_mask, cfg.loss == "ls"
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
        mask = x[..., 3] > 0 if self.masked else None
        h = x[..., :N_FEATURES]
        for layer in self.layers:
            h = layer(h, mask, labels)
        # The read-out in float32 even under autocast: a bf16 sigmoid is exactly 1 for logits
        # above ~6, where its gradient vanishes for D and G alike (a D that wins once stays dead).
        with torch.autocast(x.device.type, enabled=False):
            h = h.to(torch.promote_types(h.dtype, torch.float32))
            pooled = (h * mask.unsqueeze(-1)).sum(1) if mask is not None else h.sum(1)
            logit = self.out_dropout(self.out(pooled)).squeeze(-1)
            return torch.sigmoid(logit) if self.sigmoid else logit
