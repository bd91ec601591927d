"""MPGAN as a task for the distributed loop: two models, two optimizers, the LSGAN step.

Per batch of real jets: one discriminator update, D loss = (D(real) − 1)² + D(fake)², then one
generator update, G loss = (D(fake) − 1)², with G fed the real jets' multiplicities (and, in a
conditional model, the real jets' labels for both the real and the generated jets), both in the
published code's order (``train.py``: ``train_D`` then ``train_G``, the discriminator in
training mode, its dropout active, in both), so that from the same weights and seed the
``published`` implementation trains as the published code does in fp32. The loop freezes the
model that is not being updated in each phase, so the generator's loss never reaches the
discriminator's optimizer. The last jets of the file
(``--eval-jets``, or all but the first ``--train-fraction``) are held out for the metrics
(:mod:`evaluation`) and the end-of-run report (:mod:`mpgan.jet_report`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

from evaluation.fpnd import fpnd
from evaluation.jet_metrics import MetricSizes, jet_metrics
from evaluation.jetnet import N_PARTICLES
from events.files import read_checkpoint
from events.jetnet import read_jetnet
from mpgan.data import NORMALISATIONS, JetDataset, denormalise, feature_maxima
from mpgan.jet_report import plot_distributions, region_report
from mpgan.labels import label_columns
from mpgan.model import MPDiscriminator, MPGANModelOptions, MPGenerator
from mpgan.model import autocast_dtype as model_autocast_dtype

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("data/jets/g.hdf5")
# Generator learning rates of the paper per class; the discriminator's is three times larger.
LR_GENERATOR = {"g": 1e-5, "t": 2e-5, "q": 0.5e-5}


@dataclass
class MPGANOptions:
    """MPGAN data and optimisers."""

    data: Path = field(
        default=DEFAULT_DATA, metadata={"help": "JetNet HDF5 file (ours or JetNet's)"}
    )
    jet_type: str = field(
        default="g",
        metadata={"help": "jet class, sets the paper's learning rates", "choices": ["g", "q", "t"]},
    )
    lr_generator: float = field(
        default=0.0, metadata={"help": "RMSprop lr of G (0 = the paper's for --jet-type)"}
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
        if not 0.0 <= self.train_fraction < 1.0 or self.eval_jets < 1 or self.eval_samples < 0:
            raise ValueError(
                "need 0 <= --train-fraction < 1, --eval-jets >= 1 and --eval-samples >= 0, got "
                f"{self.train_fraction}, {self.eval_jets}, {self.eval_samples}"
            )
        try:
            MetricSizes.at_most(self.metric_jets)
        except ValueError as err:
            raise ValueError(f"--metric-jets: {err}") from None


class MPGANTask:
    """Models ``{"generator", "discriminator"}`` with one RMSprop each (lr_D = 3 lr_G)."""

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
        self.metric_jets = data.metric_jets  # 0: jetnet's protocol
        generator, discriminator = MPGenerator(model), MPDiscriminator(model)
        maxima = feature_maxima(particles, data.normalisation)
        generator.feature_maxima.copy_(torch.from_numpy(maxima))
        self.conditional = bool(model.labels)
        if self.conditional:
            generator.labels.fit(self.train_features)  # the statistics travel in checkpoints
        self.models = {
            "generator": generator.to(self.device),
            "discriminator": discriminator.to(self.device),
        }
        self.train_set = JetDataset(self.train_real, self.standardise(self.train_features), maxima)
        self.jet_type, self.selection_metric = data.jet_type, data.selection_metric
        lr_g = data.lr_generator or LR_GENERATOR[data.jet_type]
        self.optimizers = {
            "generator": torch.optim.RMSprop(generator.parameters(), lr=lr_g),
            "discriminator": torch.optim.RMSprop(discriminator.parameters(), lr=3 * lr_g),
        }
        self.collate = default_collate  # (jets [B, 30, 4], labels [B, L])
        self.baseline: dict[str, float] | None = None  # real-vs-real metrics, once per task

    @classmethod
    def from_checkpoint(cls, checkpoint: Path, data: Path | None = None) -> MPGANTask:
        """The task of a training checkpoint, its models loaded; ``data`` replaces the run's
        JetNet file (its held-out jets: the last ``--eval-jets``, or all but the first
        ``--train-fraction``, as in the run)."""
        state = read_checkpoint(checkpoint)
        if "generator" not in state["models"]:
            raise ValueError(f"{checkpoint}: not an MPGAN checkpoint ({list(state['models'])})")
        config = state["config"]
        options = {**config["data"], "data": Path(data or config["data"]["data"])}
        task = cls(MPGANOptions(**options), MPGANModelOptions(**config["model"]))
        for name, model in task.models.items():
            model.load_state_dict(state["models"][name])
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
        self,
        batch: tuple[torch.Tensor, torch.Tensor],
        phase: Callable[[str], AbstractContextManager],
    ) -> dict[str, torch.Tensor]:
        real, labels = batch
        c = labels if labels.shape[1] else None  # the real jets' labels, for real and fake
        generator, discriminator = self.models["generator"], self.models["discriminator"]
        n = real[..., 3].gt(0).sum(1)  # the real jets' multiplicities
        with phase("discriminator") as d:  # G is frozen: called as it is
            # The published order: D(real), then the noise and G, then D(fake) (with dropout,
            # the order in which the random streams are read).
            score_real = d.model(real, c)
            fake = generator.sample(n, c).detach()
            loss_d = (score_real - 1).square().mean() + d.model(fake, c).square().mean()
            d.update(loss_d)
        with phase("generator") as g:  # D is frozen: its gradients are neither kept nor averaged
            fake = g.model(generator.noise(len(n), n.device), n, c)
            loss_g = (discriminator(fake, c) - 1).square().mean()
            g.update(loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

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
        """``count`` jets in physical units [count, 30, 4] with the multiplicities (and labels)
        of ``jet_features`` [count, 4], by default of random training jets. With a ``seed``, the
        noise and the draw come from that seed and the global RNG streams are left as they were.
        """
        generator = self.models["generator"].eval()
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
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
        generator.train()
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
        noise (seed 0), so evaluations differ only by the generator."""
        reference, other, features = self.evaluation_samples()
        generated = self.generate(len(other), seed=0, jet_features=features)
        sizes = MetricSizes.at_most(self.metric_jets)
        if self.baseline is None:
            baseline = jet_metrics(reference, other, sizes=sizes)
            self.baseline = {f"real_{k}": v for k, v in baseline.items()}
            self.baseline["real_fpnd"] = fpnd(other, self.jet_type)
        metrics = jet_metrics(reference, generated, sizes=sizes)
        metrics["fpnd"] = fpnd(generated, self.jet_type)
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
