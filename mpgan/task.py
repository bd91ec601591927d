"""MPGAN as a task for the distributed loop: two models, two optimizers, the LSGAN step.

Per batch of real jets: one discriminator update, D loss = (D(real) − 1)² + D(fake)², then one
generator update, G loss = (D(fake) − 1)², with G fed the real jets' multiplicities. The loop
freezes the model that is not being updated in each phase, so the generator's loss never
reaches the discriminator's optimizer. The last ``eval_jets`` jets of the file are held out for
the metrics (:mod:`evaluation`) and the end-of-run report
(real vs generated particle features, jet mass and EFPs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from distributed.task import Phase
from evaluation.fpnd import fpnd
from evaluation.jet_metrics import efps, jet_mass, jet_metrics
from events.jetnet import read_jetnet
from mpgan.data import JetDataset, denormalise
from mpgan.model import N_PARTICLES, MPDiscriminator, MPGANConfig, MPGenerator

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
        default="w1m",
        metadata={"help": "metric whose lowest value picks best.pt", "choices": ["w1m", "fpd"]},
    )


class MPGANTask:
    """Models ``{"generator", "discriminator"}`` with one RMSprop each (lr_D = 3 lr_G)."""

    def __init__(self, data: MPGANData, model: MPGANConfig, device: str = "cpu") -> None:
        if data.data == DEFAULT_DATA and not DEFAULT_DATA.is_file():
            raise FileNotFoundError(f"{DEFAULT_DATA}: no such file; `make data` generates it")
        particles, _ = read_jetnet(data.data)
        if particles.shape[1] != N_PARTICLES:
            raise ValueError(f"{data.data}: MPGAN needs {N_PARTICLES} particles per jet")
        if len(particles) <= data.eval_jets:
            raise ValueError(
                f"{data.data}: {len(particles)} jets, need more than --eval-jets {data.eval_jets}"
            )
        self.device = torch.device(device)
        self.eval_real = particles[len(particles) - data.eval_jets :]
        self.train_set = JetDataset(particles[: len(particles) - data.eval_jets])
        # Multiplicities to feed G at evaluation: drawn from the training data's distribution.
        self.multiplicities = self.train_set.jets[..., 3].gt(0).sum(1)
        generator, discriminator = MPGenerator(model), MPDiscriminator(model)
        self.models = {
            "generator": generator.to(self.device),
            "discriminator": discriminator.to(self.device),
        }
        self.jet_type, self.selection_metric = data.jet_type, data.selection_metric
        lr_g = data.lr_generator or LR_GENERATOR[data.jet_type]
        self.optimizers = {
            "generator": torch.optim.RMSprop(generator.parameters(), lr=lr_g),
            "discriminator": torch.optim.RMSprop(discriminator.parameters(), lr=3 * lr_g),
        }
        self.collate = torch.stack
        self.baseline: dict[str, float] | None = None  # real-vs-real metrics, once per task

    def step(self, real: torch.Tensor, phase: Phase) -> dict[str, float]:
        generator, discriminator = self.models["generator"], self.models["discriminator"]
        n = real[..., 3].gt(0).sum(1)  # the real jets' multiplicities
        with phase("discriminator") as d:  # G is frozen: called as it is
            fake = generator.sample(n).detach()
            loss_d = (d.model(real) - 1).square().mean() + d.model(fake).square().mean()
            d.update(loss_d)
        with phase("generator") as g:  # D is frozen: its gradients are neither kept nor averaged
            fake = g.model(generator.noise(len(n), n.device), n)
            loss_g = (discriminator(fake) - 1).square().mean()
            g.update(loss_g)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def generate(self, count: int, batch_size: int = 4096, seed: int | None = None) -> np.ndarray:
        """``count`` jets in physical units [count, 30, 4], training-set multiplicities. With a
        ``seed``, the noise and multiplicities come from that seed and the global RNG streams are
        left as they were."""
        generator = self.models["generator"].eval()
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            index = torch.randint(len(self.multiplicities), (count,))
            parts = [
                generator.sample(self.multiplicities[index[s : s + batch_size]].to(self.device))
                for s in range(0, count, batch_size)
            ]
        return denormalise(torch.cat(parts).float().cpu().numpy())

    def evaluate(self) -> dict[str, float]:
        """The field's jet metrics (:func:`evaluation.jet_metrics.jet_metrics`, jetnet's) of
        ``eval_jets // 2`` generated jets against the first half of the held-out jets, the
        real-vs-real baseline (``real_*``: the second half against the first, computed once per
        task), and the FPND of the generated and of the held-out jets to the real JetNet class.
        Every evaluation draws the same noise (seed 0), so evaluations differ only by the
        generator."""
        half = len(self.eval_real) // 2
        reference, other = self.eval_real[:half], self.eval_real[half : 2 * half]
        self.generated = self.generate(half, seed=0)
        if self.baseline is None:
            self.baseline = {f"real_{k}": v for k, v in jet_metrics(reference, other).items()}
            self.baseline["real_fpnd"] = fpnd(other, self.jet_type)
        metrics = jet_metrics(reference, self.generated)
        metrics["fpnd"] = fpnd(self.generated, self.jet_type)
        return {**metrics, **self.baseline}

    def report(self, out: Path) -> None:
        """Real vs generated distributions as ``distributions.png`` (:func:`plot_distributions`)."""
        plot_distributions(self.eval_real, self.generated, out / "distributions.png")
        log.info("distributions -> %s", out / "distributions.png")


def plot_distributions(real: np.ndarray, gen: np.ndarray, path: Path) -> None:
    """Histograms of real vs generated jets [N, 30, 4] (physical units), saved as PNG: top row
    the particle features (real particles only) and the relative jet mass, bottom row log10 of
    the 5 EFPs n=4, d=4 of W1EFP (jets with an EFP of 0, e.g. one particle, left out)."""
    fig = plt.figure(figsize=(16, 7), layout="constrained")
    top_row, bottom_row = fig.subfigures(2, 1)
    top, bottom = top_row.subplots(1, 4), bottom_row.subplots(1, 5)
    samples = {"real": real, "generated": gen}

    for i, label in enumerate(("ηrel", "φrel", "pTrel")):
        values = {k: s[..., i][s[..., 3] > 0] for k, s in samples.items()}
        bins = np.linspace(*np.percentile(values["real"], [0.5, 99.5]), 60)
        for name, v in values.items():
            top[i].hist(v, bins=bins, histtype="step", density=True, label=name)
        top[i].set_xlabel(label)
    masses = {k: jet_mass(s) for k, s in samples.items()}
    bins = np.linspace(0, np.percentile(masses["real"], 99.5), 60)
    for name, m in masses.items():
        top[3].hist(m, bins=bins, histtype="step", density=True, label=name)
    top[3].set_xlabel("relative jet mass m/pT")
    top[3].legend()

    log_efps = {}  # name -> list over the 5 EFPs of log10 of the positive values
    for name, s in samples.items():
        values = efps(s, "w1efp")  # [N, 5]
        log_efps[name] = [np.log10(v[v > 0]) for v in values.T]
    for i, ax in enumerate(bottom):
        bins = np.linspace(*np.percentile(log_efps["real"][i], [0.5, 99.5]), 60)
        for name, v in log_efps.items():
            ax.hist(v[i], bins=bins, histtype="step", density=True, label=name)
        ax.set_xlabel(f"log10 EFP {i + 1} (n=4, d=4)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
