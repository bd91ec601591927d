"""The GVAE as a task for the distributed loop: data, model, optimizer, step, evaluation.

The last ``eval_events`` events of the file are held out (never trained on); they feed
``evaluate()`` (losses and median EMD) and the end-of-run EMD report (``gvae.report``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import to_dense_batch

from gvae.hits import (
    HitBatcher,
    HitDataset,
    HitGraphOptions,
    hit_batch,
    image_hits,
    load_event_hits,
)
from gvae.loss import LossWeights, gvae_losses
from gvae.model import GVAE, GVAEModelOptions
from gvae.report import emd_table, reconstruct, write_report

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("data/calorimeter/top.h5")


@dataclass
class GVAEOptions:
    """GVAE data and optimiser."""

    data: Path = field(
        default=DEFAULT_DATA, metadata={"help": "E2E file (parquet or HDF5): CMS open data or ours"}
    )
    eval_events: int = field(default=500, metadata={"help": "events held out for evaluation"})
    emd_events: int = field(
        default=100,
        metadata={
            "help": "held-out events whose median EMD each evaluation reports (and best.pt is "
            "picked by); the end-of-run report uses all --eval-events"
        },
    )
    lr: float = field(default=3e-3, metadata={"help": "Adam learning rate"})

    def __post_init__(self) -> None:
        if self.eval_events < 2 or self.emd_events < 2:
            raise ValueError(
                "the random-pair EMD baseline needs at least 2 events: --eval-events and "
                f"--emd-events must be >= 2, got {self.eval_events} and {self.emd_events}"
            )


class GVAETask:
    """Models ``{"gvae"}``, one Adam optimizer, hit-graph dataset built on the fly."""

    selection_metric = "emd_median_gvae"

    def __init__(
        self,
        data: GVAEOptions,
        graphs: HitGraphOptions,
        model: GVAEModelOptions,
        weights: LossWeights,
        device: str = "cpu",
    ) -> None:
        if data.data == DEFAULT_DATA and not DEFAULT_DATA.is_file():
            raise FileNotFoundError(f"{DEFAULT_DATA}: no such file; `make data` generates it")
        hits, self.mean_image = load_event_hits(data.data)
        if len(hits) <= data.eval_events:
            raise ValueError(
                f"{data.data}: {len(hits)} events, need more than --eval-events {data.eval_events}"
            )
        self.graphs, self.weights, self.device = graphs, weights, torch.device(device)
        self.emd_events = data.emd_events
        self.eval_hits = hits[len(hits) - data.eval_events :]
        start = time.perf_counter()
        self.train_set = HitDataset(hits[: len(hits) - data.eval_events], graphs)
        if graphs.cache:
            log.info(
                "%d event graphs built in %.1f s", len(self.train_set), time.perf_counter() - start
            )
        self.models = {"gvae": GVAE(model).to(self.device)}
        self.optimizers = {"gvae": torch.optim.Adam(self.models["gvae"].parameters(), lr=data.lr)}
        self.collate = HitBatcher(graphs)

    def losses(self, batch: Batch, model: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        """Loss terms of ``batch`` through ``model`` (default: the GVAE itself)."""
        output, enc = (model or self.models["gvae"])(batch)
        target, _ = to_dense_batch(batch.x, batch.batch, batch_size=batch.num_graphs)
        return gvae_losses(output, target[:, : output.size(1)], enc, self.weights)

    def step(
        self, batch: Batch, phase: Callable[[str], AbstractContextManager]
    ) -> dict[str, torch.Tensor]:
        with phase("gvae") as gvae:
            losses = self.losses(batch, gvae.model)
            gvae.update(losses["total"])
        return {name: value.detach() for name, value in losses.items()}

    @staticmethod
    def autocast_dtype(device: str) -> torch.dtype | None:
        """``--amp auto``: fp16 on CUDA (with a grad scaler), full precision on CPU (bf16 on
        the GVAE is untested)."""
        return torch.float16 if torch.device(device).type == "cuda" else None

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Held-out losses (eval mode: z = μ) and median EMDs of the first ``emd_events`` held-out
        events (``emd_events`` is in the result, to tell it from the report's median)."""
        model = self.models["gvae"].eval()
        sums: dict[str, float] = {}
        for start in range(0, len(self.eval_hits), 64):
            events = self.eval_hits[start : start + 64]
            for name, value in self.losses(hit_batch(events, self.graphs).to(self.device)).items():
                sums[name] = sums.get(name, 0.0) + value.item() * len(events)
        metrics = {f"eval_{k}": v / len(self.eval_hits) for k, v in sums.items()}
        pairs = reconstruct(model.cpu(), self.eval_hits[: self.emd_events], self.graphs)
        model.to(self.device)
        table = emd_table(pairs, image_hits(self.mean_image)[: self.graphs.max_nodes])
        combined = table[table.scope == "all"]
        for method in ("gvae", "random_pair", "mean_event"):
            metrics[f"emd_median_{method}"] = float(np.median(combined[method]))
        metrics["emd_events"] = len(pairs)
        return metrics

    def report(self, out: Path) -> None:
        model = self.models["gvae"].cpu()
        write_report(model, self.eval_hits, self.mean_image, self.graphs, out / "emd_report")
        model.to(self.device)
