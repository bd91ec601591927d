"""MPGAN as a task for the distributed loop: a generator and a discriminator of the paper's
Table 2 (:mod:`mpgan.networks`), two optimizers, and the row's published training step.

Per batch of real jets (``train.py``: ``train_D``, then ``train_G``):

- a discriminator update on D(real), then D(fake) of fresh noise with the generator in eval mode
  (GraphCNN's BatchNorm), the generator fed the real jets' multiplicities (and, in a conditional
  model, the real jets' labels for both); least squares (``--loss ls``): (D(real) − 1)² + D(fake)²;
  WGAN-GP: D(fake) − D(real) + λ (‖∇ₓ D(x̂)‖ − 1)² with x̂ = αx + (1 − α)x̃, α ~ U(0, 1) per jet,
  the norm over every feature of the jet (+10⁻¹² under the root), D in training mode;
- every ``--critic-steps`` batches (the batches 1, 1 + k, 1 + 2k, … of each epoch, as the
  published ``(batch_ndx − 1) % num_critic == 0``; every batch for k = 1) a generator update on
  fresh noise in training mode: (D(G(z)) − 1)² or −D(G(z)).

The discriminator stays in training mode (its dropout active) in both, and the random draws come
in the published order, so that from the same weights and seed the ``published`` implementation
of MP + MP trains as the published code does in fp32 (tested). The loop freezes the model that
is not being updated in each phase, so the generator's loss never reaches the discriminator's
optimizer. Optimizers: RMSprop (PyTorch's defaults) or Adam with the published coupled L2 weight
decay (``torch.optim.Adam(weight_decay=…)``, not AdamW). TreeGAN's rows train on jets padded
with two empty particles to 32. The last jets of the file (``--eval-jets``, or all but the first
``--train-fraction``) are held out for the metrics (:mod:`evaluation`) and the end-of-run report
(:mod:`mpgan.jet_report`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from distributed.task import Phase
from evaluation.fpnd import fpnd
from evaluation.jet_metrics import MetricSizes, degenerate_jets, jet_metrics
from evaluation.jetnet import N_PARTICLES
from events.jetnet import read_jetnet
from mpgan.data import NORMALISATIONS, JetDataset, denormalise, feature_maxima
from mpgan.jet_report import plot_distributions, region_report
from mpgan.labels import label_columns
from mpgan.model import MODEL_VERSION, MPGANModelOptions
from mpgan.model import autocast_dtype as model_autocast_dtype
from mpgan.networks import build_discriminator, build_generator
from mpgan.rows import row_of
from storage.files import read_checkpoint

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("data/jets/g.hdf5")


@dataclass
class MPGANOptions:
    """MPGAN data, optimisers and training procedure (defaults: MP + MP's; another generator ×
    discriminator sets its Table 2 row's: mpgan/rows.py)."""

    data: Path = field(
        default=DEFAULT_DATA, metadata={"help": "JetNet HDF5 file (ours or JetNet's)"}
    )
    jet_type: str = field(
        default="g",
        metadata={"help": "jet class, sets the paper's learning rates", "choices": ["g", "q", "t"]},
    )
    optimizer: str = field(
        default="rmsprop",
        metadata={
            "help": "rmsprop (PyTorch's defaults) or adam (with --betas and --weight-decay)",
            "choices": ["rmsprop", "adam"],
        },
    )
    lr_generator: float = field(
        default=0.0,
        metadata={"help": "lr of G (0 = the row's for --jet-type: MP+MP g 1e-5, WGAN rows 1e-4)"},
    )
    lr_discriminator: float = field(
        default=0.0,
        metadata={"help": "lr of D (0 = the row's: 3 × G's for least squares, 1e-4 for WGAN)"},
    )
    betas: str = field(default="0.9,0.999", metadata={"help": "Adam's β1,β2"})
    weight_decay: float = field(
        default=0.0, metadata={"help": "Adam's coupled L2 weight decay (the published 5e-4)"}
    )
    critic_steps: int = field(
        default=1, metadata={"help": "discriminator updates per generator update (WGAN: 5)"}
    )
    gradient_penalty: float = field(
        default=0.0, metadata={"help": "WGAN-GP's λ (the published 10; 0 = none)"}
    )
    eval_jets: int = field(
        default=10000, metadata={"help": "the last jets of the file, held out for the metrics"}
    )
    train_fraction: float = field(
        default=0.0,
        metadata={
            "help": "train on this fraction of the file (its first jets) and hold out the rest "
            "instead (the published ttsplit 0.7); 0 = all but --eval-jets"
        },
    )
    eval_samples: int = field(
        default=0,
        metadata={
            "help": "generated jets per evaluation, compared with as many held-out jets (the "
            "published 50 000); 0 = half the held-out jets"
        },
    )
    metric_jets: int = field(
        default=0,
        metadata={
            "help": "draw at most this many jets per metric batch: quicker, noisier numbers "
            "(the published trainer's W1 used 10 000); 0 = jetnet's protocol (W1 50 000 × 5, "
            "FPD 20 000–50 000, KPD 5 000 × 10, COV/MMD 100 × 10)"
        },
    )
    normalisation: str = field(
        default="jetnet",
        metadata={
            "help": "particle-feature maxima: JetNet's for every class, or per-class (over the "
            "file, as the paper-era code; mpgan/data.py)",
            "choices": list(NORMALISATIONS),
        },
    )
    selection_metric: str = field(
        default="fpd",
        metadata={
            "help": "metric whose lowest value picks best.pt (w1m, the MPGAN paper's, also "
            "rewards a collapsed generator with the right mean mass: docs/mpgan_training)",
            "choices": ["w1m", "fpd"],
        },
    )

    def __post_init__(self) -> None:
        if self.critic_steps < 1 or self.gradient_penalty < 0 or self.weight_decay < 0:
            raise ValueError(
                "need --critic-steps >= 1, --gradient-penalty >= 0 and --weight-decay >= 0, got "
                f"{self.critic_steps}, {self.gradient_penalty}, {self.weight_decay}"
            )
        _ = self.adam_betas  # ValueError if malformed
        if not 0.0 <= self.train_fraction < 1.0 or self.eval_jets < 1 or self.eval_samples < 0:
            raise ValueError(
                "need 0 <= --train-fraction < 1, --eval-jets >= 1 and --eval-samples >= 0, got "
                f"{self.train_fraction}, {self.eval_jets}, {self.eval_samples}"
            )
        try:
            MetricSizes.at_most(self.metric_jets)
        except ValueError as err:
            raise ValueError(f"--metric-jets: {err}") from None

    @property
    def adam_betas(self) -> tuple[float, float]:
        """``--betas`` as (β1, β2); ValueError unless two numbers in [0, 1)."""
        try:
            beta1, beta2 = (float(b) for b in self.betas.split(","))
        except ValueError:
            beta1 = beta2 = -1.0
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(
                f"--betas {self.betas!r}: expected two numbers in [0, 1), e.g. 0.5,0.999"
            )
        return beta1, beta2


class MPGANTask:
    """Models ``{"generator", "discriminator"}`` of ``model.generator`` × ``model.discriminator``
    with their optimizers, trained with the procedure in ``data`` (see module docstring)."""

    def __init__(self, data: MPGANOptions, model: MPGANModelOptions, device: str = "cpu") -> None:
        if data.data == DEFAULT_DATA and not DEFAULT_DATA.is_file():
            raise FileNotFoundError(f"{DEFAULT_DATA}: no such file; `make data` generates it")
        particles, jet_features = read_jetnet(data.data)
        if particles.shape[1] != N_PARTICLES:
            raise ValueError(f"{data.data}: MPGAN needs {N_PARTICLES} particles per jet")
        if data.train_fraction:
            split = int(round(data.train_fraction * len(particles)))
        else:
            split = len(particles) - data.eval_jets
        if not 0 < split < len(particles) - 1:
            raise ValueError(
                f"{data.data}: {len(particles)} jets cannot be split into training jets and at "
                f"least two held-out ones (--eval-jets {data.eval_jets}, --train-fraction "
                f"{data.train_fraction})"
            )
        self.device = torch.device(device)
        self.train_real = particles[:split]  # the real-vs-real sample if too few are held out
        self.eval_real, self.eval_features = particles[split:], jet_features[split:]
        self.train_features = jet_features[:split]  # (pT, η, mass, n) of the training jets
        self.eval_samples = data.eval_samples
        if problem := degenerate_jets(self.eval_real):
            log.warning("%s: the held-out jets cannot be judged: %s", data.data, problem)
        self.metric_jets = data.metric_jets  # 0: jetnet's protocol
        generator, discriminator = build_generator(model), build_discriminator(model)
        maxima = feature_maxima(particles, data.normalisation)
        generator.feature_maxima.copy_(torch.from_numpy(maxima))
        self.conditional = bool(model.labels)
        if self.conditional:
            generator.labels.fit(self.train_features)  # the statistics travel in checkpoints
        self.models = {
            "generator": generator.to(self.device),
            "discriminator": discriminator.to(self.device),
        }
        self.train_set = JetDataset(
            self.train_real, self.standardise(self.train_features), maxima, generator.particles
        )
        self.jet_type, self.selection_metric = data.jet_type, data.selection_metric
        self.wasserstein = model.loss == "wgan-gp"
        self.penalty, self.critic_steps = data.gradient_penalty, data.critic_steps
        row_lr_g, row_lr_d = row_of(model.generator, model.discriminator).learning_rates(
            data.jet_type
        )
        lrs = {
            "generator": data.lr_generator or row_lr_g,
            "discriminator": data.lr_discriminator or row_lr_d,
        }
        self.optimizers = {name: make_optimizer(data, self.models[name], lrs[name]) for name in lrs}
        self.collate = default_collate  # (jets [B, P, 4], labels [B, L])
        self.baseline: dict[str, float] | None = None  # real-vs-real metrics, once per task

    @classmethod
    def from_checkpoint(cls, checkpoint: Path, data: Path | None = None) -> MPGANTask:
        """The task of a training checkpoint (or of a published generator imported by
        :mod:`mpgan.import_published`), the models it holds loaded; ``data`` replaces the run's
        JetNet file (its held-out jets: the last ``--eval-jets``, or all but the first
        ``--train-fraction``, as in the run).

        Raises:
            ValueError: not an MPGAN checkpoint, or one of another model definition
                (``config["code"]["model_version"]`` is not :data:`MODEL_VERSION`).
            FileNotFoundError: no such checkpoint or data file."""
        state = read_checkpoint(checkpoint, MODEL_VERSION)
        if "generator" not in state.get("models", {}):
            raise ValueError(f"{checkpoint}: not an MPGAN checkpoint")
        return cls.from_state(state, data)

    @classmethod
    def from_state(cls, state: dict, data: Path | None = None) -> MPGANTask:
        """:meth:`from_checkpoint` of a checkpoint already in memory (``torch.load``'s dict)."""
        config = state["config"]
        options = {**config["data"], "data": Path(data or config["data"]["data"])}
        task = cls(MPGANOptions(**options), MPGANModelOptions(**config["model"]))
        for name, weights in state["models"].items():
            task.models[name].load_state_dict(weights)
        return task

    @torch.no_grad()
    def standardise(self, jet_features: np.ndarray) -> torch.Tensor | None:
        """Standardised labels [N, L] of JetNet ``jet_features`` [N, 4] (None: unconditional)."""
        if not self.conditional:
            return None
        generator = self.models["generator"]
        raw = jet_features[:, label_columns(generator.cfg.labels)].astype(np.float32)
        return generator.labels(torch.from_numpy(raw).to(self.device)).cpu()

    def step(
        self, batch: tuple[torch.Tensor, torch.Tensor], phase: Phase
    ) -> dict[str, torch.Tensor]:
        real, labels = batch
        c = labels if labels.shape[1] else None  # the real jets' labels, for real and fake
        generator, discriminator = self.models["generator"], self.models["discriminator"]
        n = real[..., 3].gt(0).sum(1)  # the real jets' multiplicities
        metrics = {}
        with phase("discriminator") as d:  # G is frozen: called as it is
            # The published order: D(real), then the noise and G (in eval mode), then D(fake)
            # (with dropout, the order in which the random streams are read).
            score_real = d.model(real, c)
            with torch.no_grad(), evaluating(generator):
                fake = generator.sample(n, c)
            score_fake = d.model(fake, c)
            if self.wasserstein:
                loss_d = score_fake.mean() - score_real.mean()
            else:
                loss_d = (score_real - 1).square().mean() + score_fake.square().mean()
            if self.penalty:
                metrics["gradient_penalty"] = self.gradient_penalty(d, real, fake, c)
                loss_d = loss_d + metrics["gradient_penalty"]
            d.update(loss_d)
        metrics["loss_d"] = loss_d.detach()
        if self.critic_steps == 1 or (phase.batch_index - 1) % self.critic_steps == 0:
            with phase(
                "generator"
            ) as g:  # D is frozen: its gradients are neither kept nor averaged
                fake = g.model(generator.noise(len(n), n.device), n, c)
                score = discriminator(fake, c)
                loss_g = -score.mean() if self.wasserstein else (score - 1).square().mean()
                g.update(loss_g)
            metrics["loss_g"] = loss_g.detach()
        if "gradient_penalty" in metrics:
            metrics["gradient_penalty"] = metrics["gradient_penalty"].detach()
        return metrics

    def gradient_penalty(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None
    ) -> torch.Tensor:
        """λ · mean over jets of (‖∇ₓ̂ D(x̂)‖₂ − 1)², x̂ = αx + (1 − α)x̃, α ~ U(0, 1) per jet
        (Gulrajani et al. 2017, arXiv:1704.00028; the published ``gradient_penalty``: the norm
        over every entry of the jet, √(Σ∇² + 10⁻¹²))."""
        alpha = self.interpolation_weights(len(real), real.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        gradient = d.input_gradient(d.model(mixed, c), mixed).flatten(1)
        norm = torch.sqrt(gradient.square().sum(1) + 1e-12)
        return self.penalty * (norm - 1).square().mean()

    @staticmethod
    def interpolation_weights(count: int, device: torch.device) -> torch.Tensor:
        """α ~ U(0, 1) per jet, [count, 1, 1], the gradient penalty's mixing weights (drawn as
        the published ``torch.rand(batch_size, 1, 1)``)."""
        return torch.rand(count, 1, 1, device=device)

    @staticmethod
    def autocast_dtype(device: str) -> torch.dtype | None:
        """``--amp auto``: bf16 where the device runs it natively (:func:`mpgan.model.
        autocast_dtype`), the read-out and the generator's output layer kept in fp32."""
        return model_autocast_dtype(device)

    @torch.no_grad()
    def generate(
        self,
        count: int,
        batch_size: int = 4096,
        seed: int | None = None,
        jet_features: np.ndarray | None = None,
    ) -> np.ndarray:
        """``count`` jets in physical units [count, P, 4] (P: the generator's slots, 30; TreeGAN
        32) with the multiplicities (and labels) of ``jet_features`` [count, 4], by default of
        random training jets (an unmasked generator ignores them), the generator in eval mode.
        With a ``seed``, the noise and the draw come from that seed and the global RNG streams
        are left as they were."""
        generator = self.models["generator"]
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        fork = torch.random.fork_rng(devices=cuda, enabled=seed is not None)
        with fork, evaluating(generator):
            if seed is not None:
                torch.manual_seed(seed)
            if jet_features is None:
                index = torch.randint(len(self.train_features), (count,)).numpy()
                jet_features = self.train_features[index]
            n = torch.from_numpy(jet_features[:, 3].astype(np.int64)).to(self.device)
            labels = self.standardise(jet_features)
            parts = [
                generator.sample(
                    n[s : s + batch_size],
                    None if labels is None else labels[s : s + batch_size].to(self.device),
                )
                for s in range(0, count, batch_size)
            ]
        maxima = generator.feature_maxima.cpu().numpy()
        return denormalise(torch.cat(parts).float().cpu().numpy(), maxima)

    def evaluation_samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(reference, other, other's jet features): the first N held-out jets, and N other
        real jets — the next N held-out ones, or, when fewer than 2N are held out, the first N
        training jets. N = ``--eval-samples`` (0: half the held-out jets), at most the held-out
        jets."""
        n = self.eval_samples or len(self.eval_real) // 2
        if n > len(self.eval_real):
            log.warning("--eval-samples %d: only %d jets held out", n, len(self.eval_real))
            n = len(self.eval_real)
        if 2 * n <= len(self.eval_real):
            return self.eval_real[:n], self.eval_real[n : 2 * n], self.eval_features[n : 2 * n]
        n = min(n, len(self.train_real))
        return self.eval_real[:n], self.train_real[:n], self.train_features[:n]

    def evaluate(self) -> dict[str, float]:
        """The field's jet metrics (:func:`evaluation.jet_metrics.jet_metrics`, jetnet's) of
        generated jets against N held-out jets (the reference), next to the real-vs-real
        baseline (``real_*``: N other real jets against the reference, computed once per task;
        :meth:`evaluation_samples`), and the FPND of both to the real JetNet class. The
        generated jets take the multiplicities (and labels) of the other real jets, so that they
        and the real-vs-real baseline answer the same question; every evaluation draws the same
        noise (seed 0), so evaluations differ only by the generator. FPND reads the first 30
        particles (TreeGAN writes 32, all in the other metrics: the paper's protocol)."""
        reference, other, features = self.evaluation_samples()
        generated = self.generate(len(other), seed=0, jet_features=features)
        sizes = MetricSizes.at_most(self.metric_jets)
        if self.baseline is None:
            baseline = jet_metrics(reference, other, sizes=sizes)
            self.baseline = {f"real_{k}": v for k, v in baseline.items()}
            self.baseline["real_fpnd"] = fpnd(other, self.jet_type)
        metrics = jet_metrics(reference, generated, sizes=sizes)
        metrics["fpnd"] = fpnd(generated[:, :N_PARTICLES], self.jet_type)
        protocol = {"eval_samples": len(reference), "metric_jets": self.metric_jets}
        return {**metrics, **protocol, **self.baseline}

    def report(self, out: Path, feature: str | None = None, seed: int = 0) -> None:
        """``distributions.png``: every held-out jet against as many generated with their
        multiplicities and labels (:func:`mpgan.jet_report.plot_distributions`); a conditional
        model also gets the per-region report in ``regions/``, split by ``feature``."""
        out.mkdir(parents=True, exist_ok=True)
        generated = self.generate(len(self.eval_real), seed=seed, jet_features=self.eval_features)
        plot_distributions(self.eval_real, generated, out / "distributions.png")
        log.info("distributions -> %s", out / "distributions.png")
        if self.conditional:
            labels = self.models["generator"].cfg.labels
            region_report(
                self.eval_real, self.eval_features, self.generate, labels, out / "regions",
                feature, seed, MetricSizes.at_most(self.metric_jets),
            )  # fmt: skip


def make_optimizer(
    options: MPGANOptions, model: torch.nn.Module, lr: float
) -> torch.optim.Optimizer:
    """RMSprop with PyTorch's defaults, or Adam with ``--betas`` and the coupled L2 weight decay
    (the published ``setup_training.optimizers``)."""
    if options.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=lr, betas=options.adam_betas, weight_decay=options.weight_decay
        )
    return torch.optim.RMSprop(model.parameters(), lr=lr)


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """``model`` in eval mode inside the block, then back in the mode it had."""
    training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(training)
