"""MPGAN as a task for the distributed loop: two models, two optimizers, the LSGAN step.

Per batch of real jets: one discriminator update, D loss = (D(real) − 1)² + D(fake)², then one
generator update, G loss = (D(fake) − 1)², with G fed the real jets' multiplicities (and, in a
conditional model, the real jets' labels for both the real and the generated jets, as the
published code does). The loop freezes the model that is not being updated in each phase, so the
generator's loss never reaches the discriminator's optimizer. The last ``eval_jets`` jets of the
file are held out for the metrics (:mod:`evaluation`) and the end-of-run report
(:mod:`mpgan.report`).
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
from evaluation.jet_metrics import jet_metrics
from events.jetnet import read_jetnet
from mpgan.data import JetDataset, denormalise
from mpgan.labels import label_columns
from mpgan.model import N_PARTICLES, MPDiscriminator, MPGANConfig, MPGenerator
from mpgan.report import plot_distributions, region_report

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("data/jets/g.hdf5")
# Generator learning rates of the paper per class; the discriminator's is three times larger.
LR_GENERATOR = {"g": 1e-5, "t": 2e-5, "q": 0.5e-5}


@dataclass
class MPGANData:
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
    eval_jets: int = field(default=10000, metadata={"help": "jets held out for the metrics"})
    selection_metric: str = field(
        default="fpd",
        metadata={
            "help": "metric whose lowest value picks best.pt (w1m, the MPGAN paper's, also "
            "rewards a collapsed generator with the right mean mass: docs/mpgan_training)",
            "choices": ["w1m", "fpd"],
        },
    )


class MPGANTask:
    """Models ``{"generator", "discriminator"}`` with one RMSprop each (lr_D = 3 lr_G)."""

    def __init__(self, data: MPGANData, model: MPGANConfig, device: str = "cpu") -> None:
        if data.data == DEFAULT_DATA and not DEFAULT_DATA.is_file():
            raise FileNotFoundError(f"{DEFAULT_DATA}: no such file; `make data` generates it")
        particles, jet_features = read_jetnet(data.data)
        if particles.shape[1] != N_PARTICLES:
            raise ValueError(f"{data.data}: MPGAN needs {N_PARTICLES} particles per jet")
        if len(particles) <= data.eval_jets:
            raise ValueError(
                f"{data.data}: {len(particles)} jets, need more than --eval-jets {data.eval_jets}"
            )
        self.device = torch.device(device)
        split = len(particles) - data.eval_jets
        self.eval_real, self.eval_features = particles[split:], jet_features[split:]
        self.train_features = jet_features[:split]  # (pT, η, mass, n) of the training jets
        generator, discriminator = MPGenerator(model), MPDiscriminator(model)
        self.conditional = bool(model.labels)
        if self.conditional:
            generator.labels.fit(self.train_features)  # the statistics travel in checkpoints
        self.models = {
            "generator": generator.to(self.device),
            "discriminator": discriminator.to(self.device),
        }
        self.train_set = JetDataset(particles[:split], self.standardise(self.train_features))
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
        JetNet file (its last ``eval_jets`` jets are the held-out ones)."""
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"{checkpoint}: no such checkpoint")
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if "generator" not in state.get("models", {}):
            raise ValueError(f"{checkpoint}: not an MPGAN checkpoint ({list(state['models'])})")
        config = state["config"]
        options = {**config["data"], "data": Path(data or config["data"]["data"])}
        task = cls(MPGANData(**options), MPGANConfig(**config["model"]))
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
    ) -> dict[str, float]:
        real, labels = batch
        c = labels if labels.shape[1] else None  # the real jets' labels, for real and fake
        generator, discriminator = self.models["generator"], self.models["discriminator"]
        n = real[..., 3].gt(0).sum(1)  # the real jets' multiplicities
        with phase("discriminator") as d:  # G is frozen: called as it is
            fake = generator.sample(n, c).detach()
            loss_d = (d.model(real, c) - 1).square().mean() + d.model(fake, c).square().mean()
            d.update(loss_d)
        with phase("generator") as g:  # D is frozen: its gradients are neither kept nor averaged
            fake = g.model(generator.noise(len(n), n.device), n, c)
            loss_g = (discriminator(fake, c) - 1).square().mean()
            g.update(loss_g)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

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
        return denormalise(torch.cat(parts).float().cpu().numpy())

    def evaluate(self) -> dict[str, float]:
        """The field's jet metrics (:func:`evaluation.jet_metrics.jet_metrics`, jetnet's) of
        generated jets against the first half of the held-out jets (the reference), next to the
        real-vs-real baseline (``real_*``: the second half against the reference, computed once
        per task), and the FPND of both to the real JetNet class. The generated jets take the
        multiplicities (and labels) of the second half, so that they and the real-vs-real
        baseline answer the same question; every evaluation draws the same noise (seed 0), so
        evaluations differ only by the generator."""
        half = len(self.eval_real) // 2
        reference, other = self.eval_real[:half], self.eval_real[half : 2 * half]
        features = self.eval_features[half : 2 * half]
        self.generated = self.generate(half, seed=0, jet_features=features)
        if self.baseline is None:
            self.baseline = {f"real_{k}": v for k, v in jet_metrics(reference, other).items()}
            self.baseline["real_fpnd"] = fpnd(other, self.jet_type)
        metrics = jet_metrics(reference, self.generated)
        metrics["fpnd"] = fpnd(self.generated, self.jet_type)
        return {**metrics, **self.baseline}

    def report(self, out: Path) -> None:
        """``distributions.png`` (real vs generated, :func:`mpgan.report.plot_distributions`);
        a conditional model also gets the per-region report in ``regions/``."""
        real = self.eval_real[: len(self.generated)]
        plot_distributions(real, self.generated, out / "distributions.png")
        log.info("distributions -> %s", out / "distributions.png")
        if self.conditional:
            region_report(self, out / "regions")
