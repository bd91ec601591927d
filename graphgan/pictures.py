"""Pictures of the graph GAN: graphs drawn as the images they stand for (each node a point at
its (x, y), sized and shaded by its intensity, y pointing down as an image's rows), sample grids
of real and generated graphs, the generated graphs at every evaluation, and GFD against the
training step with the real-vs-real floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def draw_graph(ax: plt.Axes, graph: np.ndarray) -> None:
    """One graph [N, 3] = (x, y, I) in the GAN's units on ``ax``: points of area ∝ I + 0.5."""
    brightness = np.clip(graph[:, 2] + 0.5, 0, 1)
    ax.scatter(graph[:, 0], graph[:, 1], s=6 * brightness, c=brightness, cmap="gray",
               vmin=0, vmax=1, linewidths=0)  # fmt: skip
    ax.set_xlim(-0.55, 0.55)
    ax.set_ylim(0.55, -0.55)  # rows down
    ax.set_facecolor("black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")


def _grid(rows: Sequence[np.ndarray], labels: Sequence[str], path: Path, title: str) -> None:
    columns = max(len(r) for r in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(0.9 * columns, 0.95 * len(rows)), squeeze=False
    )
    for r, (graphs, label) in enumerate(zip(rows, labels, strict=True)):
        for c in range(columns):
            ax = axes[r, c]
            if c < len(graphs):
                draw_graph(ax, graphs[c])
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_samples(real: np.ndarray, generated: np.ndarray, path: Path) -> None:
    """Real graphs [M, N, 3] above generated ones, eight per row, into ``path``."""
    rows, labels = [], []
    for name, graphs in (("real", real), ("generated", generated)):
        for start in range(0, len(graphs), 8):
            rows.append(graphs[start : start + 8])
            labels.append(name if start == 0 else "")
    _grid(rows, labels, path, "real (top) and generated graphs")


def plot_training(snapshots: Sequence[np.ndarray], steps: Sequence[int], path: Path) -> None:
    """The same noise's generated graphs at each evaluation (one row per step) into ``path``."""
    _grid([s[:8] for s in snapshots], [f"step {s}" for s in steps], path,
          "generated graphs at each evaluation (same noise)")  # fmt: skip


def plot_gfd(evaluations: pd.DataFrame, path: Path) -> None:
    """GFD and the real-vs-real floor against the step (``evaluations.csv``) into ``path``."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(evaluations["step"], evaluations["gfd"], "o-", label="GFD (generated vs real)")
    if "real_gfd" in evaluations:
        ax.plot(evaluations["step"], evaluations["real_gfd"], "--", label="real vs real (floor)")
    ax.set_xlabel("step")
    ax.set_ylabel("graph Fréchet distance")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
