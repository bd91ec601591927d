"""The 2020 graph GAN as a task for the distributed loop: one class of sparse images or
superpixels, the published generator and discriminator (:mod:`graphgan.model`), least squares,
RMSprop, judged by the graph Fréchet distance (:mod:`graphgan.gfd`).

Per batch of real graphs (graph-gan ``mnist/main.py``: one D step, then one G step):

- discriminator: D(real), then fresh noise through G, then D(fake);
  loss (D(real) − 1)² + D(fake)², averaged over the graphs;
- generator: fresh noise, G, D(G(z)); loss (D(G(z)) − 1)².

D stays in training mode (dropout 0.5) in both steps, as published; G has no dropout. The loop
freezes the model not being updated. An evaluation generates ``--eval-graphs`` graphs (8 192,
the paper's) from seed 0 and reports ``gfd`` beside ``real_gfd``, the real-vs-real floor; the
first 16 generated graphs of each evaluation are kept for the report's picture of training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import default_collate

from distributed.task import Phase
from graphgan.classifier import CLASSIFIERS
from graphgan.data import CACHE, NODES, VARIANTS, class_graphs, load_graphs
from graphgan.gfd import GENERATED, GraphFrechetDistance, load_classifier, read_statistics
from graphgan.images import FASHION_MNIST
from graphgan.model import GraphGANDiscriminator, GraphGANGenerator
from graphgan.pictures import plot_gfd, plot_samples, plot_training

log = logging.getLogger(__name__)

SNAPSHOT = 16  # generated graphs kept per evaluation for the report


@dataclass
class GraphGANOptions:
    """Graph GAN data, optimisers and evaluation (defaults: Table 1 for --dataset and --class)."""

    dataset: str = field(
        default="sparse",
        metadata={
            "help": "sparse: the 100 brightest pixels; superpixels: 75 (SLIC, or real files)",
            "choices": list(VARIANTS),
        },
    )
    class_label: int = field(
        default=3, metadata={"help": "the class trained on (--class N for short); 0-9"}
    )
    images: Path = field(
        default=FASHION_MNIST,
        metadata={
            "help": "folder of MNIST-format images (IDX or CSV; Fashion-MNIST by default), or "
            "for --dataset superpixels Monti's or PyG's MNIST superpixel files"
        },
    )
    graph_cache: Path = field(
        default=CACHE, metadata={"help": "folder of the graphs made from --images, once"}
    )
    lr_generator: float = field(default=3e-5, metadata={"help": "RMSprop lr of G"})
    lr_discriminator: float = field(default=1e-5, metadata={"help": "RMSprop lr of D"})
    eval_graphs: int = field(
        default=GENERATED, metadata={"help": "generated graphs per GFD (the paper's 8192)"}
    )
    gfd_statistics: str = field(
        default="",
        metadata={
            "help": "real statistics PREFIX of graph-gan (PREFIXmu2.txt, PREFIXsigma2.txt, "
            "e.g. evaluation/3_sm_2_nh_100_) to use with its --gfd-classifier; default: "
            "computed from every real graph of the class"
        },
    )
    gfd_classifier: Path = field(
        default=Path(""),
        metadata={
            "help": "MoNet for GFD: ours (python -m graphgan.classifier) or graph-gan's "
            "published state dict (default: graphgan/classifiers/<dataset>.pt)"
        },
    )

    def __post_init__(self) -> None:
        if not 0 <= self.class_label <= 9 or self.eval_graphs < 2:
            raise ValueError(
                f"need --class in 0-9 and --eval-graphs >= 2, got {self.class_label}, "
                f"{self.eval_graphs}"
            )
        if self.lr_generator <= 0 or self.lr_discriminator <= 0:
            raise ValueError("--lr-generator and --lr-discriminator must be > 0")

    @property
    def classifier(self) -> Path:
        """The GFD classifier's file."""
        return (
            self.gfd_classifier
            if str(self.gfd_classifier) not in ("", ".")
            else (CLASSIFIERS / f"{self.dataset}.pt")
        )


@dataclass
class GraphGANModelOptions:
    """The published networks (defaults: Table 1's for --dataset and --class)."""

    layers: int = field(default=1, metadata={"help": "message-passing layers T of G and of D"})
    edge_hidden: str = field(default="64,128", metadata={"help": "the edge MLP's widths"})
    noise_std: float = field(default=0.2, metadata={"help": "σ of G's noise"})
    dropout: float = field(default=0.5, metadata={"help": "D's dropout after every Linear"})
    implementation: str = field(
        default="fast",
        metadata={
            "help": "message passing: fast, or published (the same maths, pair by pair)",
            "choices": ["fast", "published"],
        },
    )

    def __post_init__(self) -> None:
        if self.layers < 1 or not 0 <= self.dropout < 1 or self.noise_std <= 0:
            raise ValueError("need --layers >= 1, 0 <= --dropout < 1 and --noise-std > 0")
        _ = self.widths

    @property
    def widths(self) -> tuple[int, ...]:
        """``--edge-hidden`` as widths; ValueError unless positive integers."""
        try:
            widths = tuple(int(w) for w in self.edge_hidden.split(","))
        except ValueError:
            widths = ()
        if not widths or min(widths) < 1:
            raise ValueError(f"--edge-hidden {self.edge_hidden!r}: expected widths, e.g. 64,128")
        return widths


class GraphDataset(torch.utils.data.Dataset):
    """Real graphs [M, N, 3] as a dataset of [N, 3] tensors."""

    def __init__(self, graphs: np.ndarray) -> None:
        self.graphs = torch.from_numpy(np.ascontiguousarray(graphs))

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.graphs[index]


class GraphGANTask:
    """Models ``{"generator", "discriminator"}`` for one class (see module docstring)."""

    selection_metric = "gfd"

    def __init__(
        self, data: GraphGANOptions, model: GraphGANModelOptions, device: str = "cpu"
    ) -> None:
        self.device = torch.device(device)
        self.real = class_graphs(
            load_graphs(data.images, data.dataset, data.graph_cache), data.class_label
        )
        if len(self.real) < 4:  # before training: GFD and its floor need them
            raise ValueError(
                f"{data.images}: {len(self.real)} graphs of class {data.class_label}; GFD needs 4"
            )
        if len(self.real) < 500:
            log.warning(
                "%d graphs of class %d: GFD's 128-feature statistics are poorly determined",
                len(self.real), data.class_label,
            )  # fmt: skip
        self.nodes = self.real.shape[1]
        if data.dataset == "sparse" and self.nodes != NODES["sparse"]:
            raise ValueError(f"{data.images}: sparse graphs of {self.nodes} nodes, not 100")
        self.classifier_path = data.classifier
        if not self.classifier_path.is_file():  # before training, not at the first evaluation
            load_classifier(self.classifier_path)
        self.eval_graphs = data.eval_graphs
        self.statistics = read_statistics(data.gfd_statistics) if data.gfd_statistics else None
        widths = model.widths
        self.models = {
            "generator": GraphGANGenerator(
                model.layers, widths, model.noise_std, model.implementation
            ).to(self.device),
            "discriminator": GraphGANDiscriminator(
                model.layers, widths, model.dropout, model.implementation
            ).to(self.device),
        }
        lrs = {"generator": data.lr_generator, "discriminator": data.lr_discriminator}
        self.optimizers = {
            name: torch.optim.RMSprop(self.models[name].parameters(), lr=lr)
            for name, lr in lrs.items()
        }
        self.train_set = GraphDataset(self.real)
        self.collate = default_collate
        self.gfd: GraphFrechetDistance | None = None  # built at the first evaluation (rank 0)
        self.snapshots: list[np.ndarray] = []

    def step(self, real: torch.Tensor, phase: Phase) -> dict[str, torch.Tensor]:
        generator = self.models["generator"]
        discriminator = self.models["discriminator"]
        with phase("discriminator") as d:  # G frozen: called as it is
            score_real = d.model(real)
            fake = generator(generator.noise(len(real), self.nodes, real.device))
            score_fake = d.model(fake)
            loss_d = (score_real - 1).square().mean() + score_fake.square().mean()
            d.update(loss_d)
        with phase("generator") as g:  # D frozen, in training mode (dropout)
            fake = g.model(generator.noise(len(real), self.nodes, real.device))
            loss_g = (discriminator(fake) - 1).square().mean()
            g.update(loss_g)
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": score_real.detach().mean(),
            "d_fake": score_fake.detach().mean(),
        }

    @staticmethod
    def autocast_dtype(device: str) -> torch.dtype | None:
        """``--amp auto``: full precision, the paper's (bf16 is not validated for this model)."""
        return None

    @torch.no_grad()
    def generate(self, count: int, seed: int | None = 0, batch_size: int = 128) -> np.ndarray:
        """``count`` graphs [count, N, 3] from noise of ``seed`` (None: the global stream; a seed
        leaves the global streams as they were), ``batch_size`` at a time: the edge network's
        [B, N, N, 128] tensors of 100-node graphs take 0.66 GB per 128 graphs (at 1 024 a
        GFD's generation was killed for memory on a 24 GB machine)."""
        generator = self.models["generator"]
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            parts = [
                generator(generator.noise(min(batch_size, count - s), self.nodes, self.device))
                for s in range(0, count, batch_size)
            ]
        return torch.cat(parts).float().cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        """``gfd`` of ``--eval-graphs`` generated graphs against every real graph of the class,
        ``real_gfd`` (the floor: two halves of the real graphs), the classifier's test accuracy
        as its file records it."""
        if self.gfd is None:
            classifier, info = load_classifier(self.classifier_path)
            self.classifier_accuracy = float(info.get("test_accuracy", float("nan")))
            self.gfd = GraphFrechetDistance(classifier, self.real, statistics=self.statistics)
        generated = self.generate(self.eval_graphs, seed=0)
        self.snapshots.append(generated[:SNAPSHOT])
        return {
            "gfd": self.gfd(generated),
            "real_gfd": self.gfd.floor,
            "eval_graphs": float(len(generated)),
            "classifier_accuracy": self.classifier_accuracy,
        }

    def report(self, out: Path) -> None:
        """``samples.png`` (real and generated graphs drawn as images), ``training.png`` (the
        generated graphs of every evaluation since this process started) and ``gfd.png`` (GFD
        against the step, with the floor), from ``evaluations.csv``."""
        out.mkdir(parents=True, exist_ok=True)
        plot_samples(self.real[:SNAPSHOT], self.generate(SNAPSHOT, seed=1), out / "samples.png")
        evaluations = out / "evaluations.csv"
        if evaluations.is_file():
            table = pd.read_csv(evaluations)
            plot_gfd(table, out / "gfd.png")
            steps = table["step"].tolist()[-len(self.snapshots) :] if self.snapshots else []
            if steps:
                plot_training(self.snapshots[-len(steps) :], steps, out / "training.png")
        log.info("pictures -> %s/{samples,training,gfd}.png", out)
