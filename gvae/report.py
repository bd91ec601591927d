"""EMD reconstruction report: how close GVAE reconstructions are to the events they encode.

    python -m gvae.report --checkpoint runs/<run>/checkpoint.pt --data data/calorimeter/top.h5

For each held-out event, the Energy Mover's Distance (:mod:`evaluation.emd`: energyflow's, in
GeV, not normalised) between original and reconstructed hits, per channel (tracks, ECAL, HCAL)
and for all hits together. Reconstructed hits below the
detector thresholds (tracks 1 GeV, ECAL 0.5 GeV, HCAL 1 GeV) are dropped first, as the detector
would, which also keeps the EMD fast. Two baselines on the same events:

- random pair: EMD between the event and another randomly chosen real event;
- mean event: the average image of the file's events, as hits (its ``max_nodes`` most energetic).

Outputs in ``--out``: ``emd.csv`` (per event), ``summary.csv`` and ``report.md`` (mean, median,
16/84% quantiles), ``emd.png`` (histograms) and ``events.png`` (original vs reconstructed).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from evaluation.emd import EMD_R, event_emds
from events.detector import CHANNELS, DetectorOptions
from gvae.hits import (
    HitGraphOptions,
    features_to_hits,
    hit_batch,
    image_hits,
    load_event_hits,
)
from gvae.model import GVAE, MODEL_VERSION, GVAEModelOptions
from storage.files import read_checkpoint

log = logging.getLogger("gvae.report")

SCOPES = (*CHANNELS, "all")
METHODS = ("gvae", "random_pair", "mean_event")


def channel_thresholds(detector: DetectorOptions | None = None) -> np.ndarray:
    """Per-channel thresholds [GeV] a reconstructed hit must pass: (tracks, ECAL, HCAL)."""
    d = detector or DetectorOptions()
    return np.array([d.track_pt_min, d.ecal_threshold, d.hcal_threshold])


@torch.no_grad()
def reconstruct(
    model: GVAE, hits: list[np.ndarray], cfg: HitGraphOptions, batch_size: int = 64
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(original, reconstructed) hits per event, both [n, 4]; reconstructions thresholded.

    The original is the capped input the model saw (its ``max_nodes`` most energetic hits).
    """
    model.eval()
    thresholds = channel_thresholds()
    pairs = []
    for start in range(0, len(hits), batch_size):
        batch = hit_batch(hits[start : start + batch_size], cfg)
        output, enc = model(batch)
        for i in range(batch.num_graphs):
            rec = features_to_hits(output[i][enc.mask[i]].float().numpy(), cfg)
            rec = rec[rec[:, 2] >= thresholds[rec[:, 3].astype(int)]]
            pairs.append((batch.get_example(i).hits.numpy(), rec))
    return pairs


def emd_table(
    pairs: list[tuple[np.ndarray, np.ndarray]], mean_event: np.ndarray, seed: int = 0
) -> pd.DataFrame:
    """Per-event EMDs of the GVAE and both baselines: columns event, scope, gvae, random_pair,
    mean_event."""
    rng = np.random.default_rng(seed)
    n = len(pairs)
    partner = (np.arange(n) + rng.integers(1, max(n, 2), size=n)) % max(n, 1)  # never itself
    rows = []
    for i, (original, rec) in enumerate(tqdm(pairs, desc="EMD", unit="event", leave=False)):
        per_method = {
            "gvae": event_emds(original, rec, CHANNELS),
            "random_pair": event_emds(original, pairs[partner[i]][0], CHANNELS),
            "mean_event": event_emds(original, mean_event, CHANNELS),
        }
        for scope in SCOPES:
            rows.append({"event": i, "scope": scope, **{m: per_method[m][scope] for m in METHODS}})
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, median and 16/84% quantiles per scope and method."""
    long = table.melt(
        id_vars=["event", "scope"], value_vars=list(METHODS), var_name="method", value_name="emd"
    )
    grouped = long.groupby(["scope", "method"], sort=False)["emd"]
    return pd.DataFrame(
        {
            "mean": grouped.mean(),
            "median": grouped.median(),
            "q16": grouped.quantile(0.16),
            "q84": grouped.quantile(0.84),
        }
    ).reset_index()


def plot_histograms(table: pd.DataFrame, path: Path) -> None:
    fig, axes = plt.subplots(1, len(SCOPES), figsize=(4.2 * len(SCOPES), 3.6))
    for ax, scope in zip(axes, SCOPES, strict=True):
        part = table[table.scope == scope]
        top = np.percentile(part[list(METHODS)].to_numpy(), 99) or 1.0
        for method in METHODS:
            ax.hist(part[method], bins=np.linspace(0, top, 50), histtype="step", label=method)
        ax.set_xlabel(f"EMD [GeV], {scope}")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_events(pairs: list[tuple[np.ndarray, np.ndarray]], path: Path, n_events: int = 3) -> None:
    """Original (top) vs reconstructed (bottom) hits per channel for the first events."""
    n_events = min(n_events, len(pairs))
    fig, axes = plt.subplots(2 * n_events, 3, figsize=(10, 3.2 * 2 * n_events), squeeze=False)
    for e in range(n_events):
        for row, (label, hits) in enumerate(
            zip(("original", "reconstructed"), pairs[e], strict=True)
        ):
            for c, name in enumerate(CHANNELS):
                ax = axes[2 * e + row, c]
                h = hits[hits[:, 3] == c]
                ax.scatter(
                    h[:, 1],
                    h[:, 0],
                    s=4 + 4 * np.sqrt(h[:, 2]),
                    c=np.log10(h[:, 2]),
                    cmap="viridis",
                    vmin=-0.5,
                    vmax=2.5,
                )
                ax.set(
                    xlim=(-0.6, 0.6),
                    ylim=(-0.6, 0.6),
                    aspect="equal",
                    title=f"event {e} {label}: {name}",
                )
                ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("φ offset")
    for ax in axes[:, 0]:
        ax.set_ylabel("η offset")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(
    model: GVAE,
    hits: list[np.ndarray],
    mean_image: np.ndarray,
    cfg: HitGraphOptions,
    out: Path,
    title: str = "GVAE EMD reconstruction report",
) -> pd.DataFrame:
    """Reconstruct ``hits``, compute EMDs and baselines, write every output; return the summary."""
    start = time.perf_counter()
    pairs = reconstruct(model, hits, cfg)
    mean_event = image_hits(mean_image)[: cfg.max_nodes]
    table = emd_table(pairs, mean_event)
    elapsed = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "emd.csv", index=False)
    summary = summarise(table)
    summary.to_csv(out / "summary.csv", index=False)
    plot_histograms(table, out / "emd.png")
    plot_events(pairs, out / "events.png")
    lines = [
        f"# {title}",
        "",
        f"{len(pairs)} held-out events; EMD [GeV] with energyflow, R = {EMD_R}, energies not "
        "normalised; reconstructed hits below the detector thresholds dropped. "
        f"Report: {len(pairs) / elapsed:.1f} events/s. (A training run's evaluations — "
        "`evaluation.json`, `evaluations.csv`, which pick `best.pt` — give the median over "
        "the first `emd_events` held-out events only, 100 by default: a smaller sample than "
        "this report's.)",
        "",
        "| scope | method | mean | median | 16% | 84% |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.scope} | {r.method} | {r.mean:.1f} | {r.median:.1f} | {r.q16:.1f} | "
            f"{r.q84:.1f} |"
            for r in summary.itertuples()
        ),
        "",
        "![EMD histograms](emd.png)",
        "",
        "![original vs reconstructed](events.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    log.info(
        "EMD report: %d events at %.1f events/s -> %s",
        len(pairs),
        len(pairs) / elapsed,
        out / "report.md",
    )
    return summary


def load_model(checkpoint: Path) -> tuple[GVAE, HitGraphOptions, dict]:
    """The GVAE and hit-graph settings stored in a training checkpoint (refused in one line,
    ValueError, when it is of another model definition: ``gvae.model.MODEL_VERSION``)."""
    state = read_checkpoint(checkpoint, MODEL_VERSION)
    if "gvae" not in state["models"]:
        raise ValueError(f"{checkpoint}: not a GVAE checkpoint (models: {list(state['models'])})")
    config = state["config"]
    model = GVAE(GVAEModelOptions(**config["model"]))
    model.load_state_dict(state["models"]["gvae"])
    return model, HitGraphOptions(**config["graphs"]), config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gvae.report",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint")
    parser.add_argument(
        "--data", type=Path, default=None, help="E2E file (default: the run's training data)"
    )
    parser.add_argument(
        "--events",
        type=int,
        default=500,
        help="events to evaluate, the file's last (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report directory (default: emd_report/ next to the checkpoint)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        model, cfg, config = load_model(args.checkpoint)
        hits, mean_image = load_event_hits(args.data or Path(config["data"]["data"]))
    except (ValueError, FileNotFoundError) as err:
        print(f"gvae.report: error: {err}", file=sys.stderr)
        return 2
    hits = hits[-args.events :]
    write_report(model, hits, mean_image, cfg, args.out or args.checkpoint.parent / "emd_report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
