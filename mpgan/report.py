"""MPGAN reports: real vs generated distributions, and a conditional model's metrics per region.

    python -m mpgan.report --checkpoint runs/<run>/best.pt --out runs/<run>/report

- ``distributions.png``: particle features (real particles only), relative jet mass and the five
  W1EFP EFPs, real vs generated (:func:`plot_distributions`);
- ``regions/`` (conditional models): the held-out jets split into terciles of a conditioning
  feature (the graph-GAN talk's three pT regions); per region the field's metrics of generated
  jets, which take the labels and multiplicities of half of the region's real jets, against the
  other half, next to the real-vs-real value of those two halves (``regions.md``,
  ``regions.csv``), and the distributions per region with the jet mass in GeV
  (``regions.png``) — whether the generated mass follows the condition (:func:`region_report`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaluation.jet_metrics import efps, jet_mass, jet_metrics
from events.jetnet import JET_FEATURES

if TYPE_CHECKING:  # the task imports this module for its report
    from mpgan.task import MPGANTask

log = logging.getLogger("mpgan.report")

METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd")


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


def region_report(
    task: MPGANTask, out: Path, feature: str | None = None, seed: int = 0
) -> pd.DataFrame:
    """The per-region report of a conditional task (see module docstring) into ``out``;
    ``feature`` (default: the first conditioning feature) splits the held-out jets."""
    feature = feature or task.models["generator"].cfg.labels[0]
    column = JET_FEATURES.index(feature)
    values = task.eval_features[:, column]
    edges = np.quantile(values, [0, 1 / 3, 2 / 3, 1])
    region_of = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 2)
    out.mkdir(parents=True, exist_ok=True)
    rows, samples = [], []
    for region in range(3):
        index = np.flatnonzero(region_of == region)
        reference, other = index[: len(index) // 2], index[len(index) // 2 : 2 * (len(index) // 2)]
        real = task.eval_real[reference]
        generated = task.generate(len(other), seed=seed, jet_features=task.eval_features[other])
        metrics = jet_metrics(real, generated, seed)
        baseline = jet_metrics(real, task.eval_real[other], seed)
        span = f"{edges[region]:.4g} – {edges[region + 1]:.4g}"
        for name in METRICS:
            rows.append(
                {
                    "region": region + 1,
                    feature: span,
                    "jets": len(other),
                    "metric": name,
                    "generated": metrics[name],
                    "generated_err": metrics.get(f"{name}_err", np.nan),
                    "real_vs_real": baseline[name],
                }
            )
        pt = task.eval_features[other, 0]  # the jet pT the generated jets were given
        samples.append((span, real, task.eval_features[reference, 0], generated, pt))
    table = pd.DataFrame(rows)
    table.to_csv(out / "regions.csv", index=False)
    plot_regions(samples, feature, out / "regions.png")
    masses = [
        (span, np.median(jet_mass(r) * pr), np.median(jet_mass(g) * pg))
        for span, r, pr, g, pg in samples
    ]
    lines = [
        f"# Conditional MPGAN: metrics per {feature} region",
        "",
        f"{len(task.eval_real)} held-out jets in terciles of {feature}; per region, generated "
        "jets with the labels and multiplicities of one half of the region's real jets, "
        "compared with the other half (the reference), next to the real-vs-real value of the "
        "two halves (jetnet 0.2.5 metrics, seed "
        f"{seed}).",
        "",
        "| region | " + feature + " | jets | " + " | ".join(METRICS) + " |",
        "|---|---|---|" + "---|" * len(METRICS),
    ]
    for region, group in table.groupby("region"):
        first = group.iloc[0]
        cells = [f"{r.generated:.3g} (real {r.real_vs_real:.3g})" for r in group.itertuples()]
        lines.append(f"| {region} | {first[feature]} | {first.jets} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Median jet mass [GeV] per region, real vs generated: "
        + "; ".join(f"{span}: {real:.1f} vs {gen:.1f}" for span, real, gen in masses)
        + ".",
        "",
        "![distributions per region](regions.png)",
        "",
    ]
    (out / "regions.md").write_text("\n".join(lines))
    log.info("per-region report -> %s", out / "regions.md")
    return table


def plot_regions(samples: list, feature: str, path: Path) -> None:
    """One row per region: ηrel, φrel, pTrel of real particles and the jet mass in GeV."""
    fig, axes = plt.subplots(len(samples), 4, figsize=(16, 3.2 * len(samples)), squeeze=False)
    for row, (span, real, real_pt, generated, gen_pt) in zip(axes, samples, strict=True):
        for i, label in enumerate(("ηrel", "φrel", "pTrel")):
            values = {
                "real": real[..., i][real[..., 3] > 0],
                "generated": generated[..., i][generated[..., 3] > 0],
            }
            bins = np.linspace(*np.percentile(values["real"], [0.5, 99.5]), 50)
            for name, v in values.items():
                row[i].hist(v, bins=bins, histtype="step", density=True, label=name)
            row[i].set_xlabel(label)
        masses = {"real": jet_mass(real) * real_pt, "generated": jet_mass(generated) * gen_pt}
        bins = np.linspace(0, np.percentile(masses["real"], 99.5), 50)
        for name, m in masses.items():
            row[3].hist(m, bins=bins, histtype="step", density=True, label=name)
        row[3].set_xlabel("jet mass [GeV]")
        row[0].set_ylabel(f"{feature} {span}")
    axes[0, 3].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.report",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--data",
        type=Path,
        help="JetNet file whose last --eval-jets jets are the real ones (by default the run's)",
    )
    parser.add_argument("--feature", choices=JET_FEATURES, help="split feature (conditional)")
    parser.add_argument("--seed", type=int, default=0, help="noise and metric batches")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from mpgan.task import MPGANTask  # the report module sits below the task

    try:
        task = MPGANTask.from_checkpoint(args.checkpoint, args.data)
        if args.feature and not task.conditional:
            raise ValueError(f"{args.checkpoint}: an unconditional model has no regions")
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.report: error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    generated = task.generate(len(task.eval_real), seed=args.seed, jet_features=task.eval_features)
    plot_distributions(task.eval_real, generated, args.out / "distributions.png")
    if task.conditional:
        region_report(task, args.out / "regions", args.feature, args.seed)
    log.info("report -> %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
