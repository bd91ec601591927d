"""MPGAN reports on arrays of jets: real vs generated distributions, and a conditional model's
metrics per region (the task writes them at the end of a run; ``python -m mpgan.report`` on any
checkpoint).

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

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaluation.jet_metrics import JETNET_SIZES, MetricSizes, efps, jet_metrics, relative_jet_mass
from events.jetnet import JET_FEATURES

log = logging.getLogger(__name__)

METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd")


def histograms(ax: plt.Axes, values: dict[str, np.ndarray], bins: np.ndarray) -> None:
    """Step histograms (densities) of each sample on the same ``bins``, values outside them
    counted in the first or last bin (under- and overflow): a generated sample off the real
    range shows as a spike at the edge instead of vanishing from the plot."""
    for name, v in values.items():
        inside = np.clip(np.asarray(v, np.float64), bins[0], bins[-1])  # (float32 can round out)
        ax.hist(inside, bins=bins, histtype="step", density=True, label=name)


def plot_distributions(real: np.ndarray, gen: np.ndarray, path: Path) -> plt.Figure:
    """Histograms of real vs generated jets [N, 30, 4] (physical units), saved as PNG: top row
    the particle features (real particles only) and the relative jet mass, bottom row log10 of
    the 5 EFPs n=4, d=4 of W1EFP (jets with an EFP of 0, e.g. one particle, left out). The bins
    span the real values' 0.5–99.5 percentiles; values beyond them count in the edge bins.
    Returns the (closed) figure."""
    fig = plt.figure(figsize=(16, 7), layout="constrained")
    top_row, bottom_row = fig.subfigures(2, 1)
    top, bottom = top_row.subplots(1, 4), bottom_row.subplots(1, 5)
    samples = {"real": real, "generated": gen}

    for i, label in enumerate(("ηrel", "φrel", "pTrel")):
        values = {k: s[..., i][s[..., 3] > 0] for k, s in samples.items()}
        histograms(top[i], values, np.linspace(*np.percentile(values["real"], [0.5, 99.5]), 60))
        top[i].set_xlabel(label)
    masses = {k: relative_jet_mass(s) for k, s in samples.items()}
    histograms(top[3], masses, np.linspace(0, np.percentile(masses["real"], 99.5), 60))
    top[3].set_xlabel("relative jet mass m/pT")
    top[3].legend()

    log_efps = {}  # name -> list over the 5 EFPs of log10 of the positive values
    for name, s in samples.items():
        values = efps(s, "w1efp")  # [N, 5]
        log_efps[name] = [np.log10(v[v > 0]) for v in values.T]
    for i, ax in enumerate(bottom):
        ax.set_xlabel(f"log10 EFP {i + 1} (n=4, d=4)")
        if not len(log_efps["real"][i]):  # e.g. jets of one particle: every EFP is 0
            ax.text(0.5, 0.5, "no real jet with EFP > 0", ha="center", transform=ax.transAxes)
            continue
        bins = np.linspace(*np.percentile(log_efps["real"][i], [0.5, 99.5]), 60)
        histograms(ax, {name: v[i] for name, v in log_efps.items()}, bins)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def region_report(
    eval_real: np.ndarray,
    eval_features: np.ndarray,
    generate: Callable[..., np.ndarray],
    labels: Sequence[str],
    out: Path,
    feature: str | None = None,
    seed: int = 0,
    sizes: MetricSizes = JETNET_SIZES,
) -> pd.DataFrame:
    """The per-region report of a conditional model (see module docstring) into ``out``.

    Args:
        eval_real, eval_features: held-out jets [N, 30, 4] and their features [N, 4].
        generate: ``generate(count, seed=, jet_features=)`` → jets [count, 30, 4] with those
            jets' labels and multiplicities (``MPGANTask.generate``).
        labels: the model's conditioning features; ``feature`` (default: the first) splits.
        seed, sizes: the metrics' batches (:func:`evaluation.jet_metrics.jet_metrics`).
    """
    feature = feature or labels[0]
    column = JET_FEATURES.index(feature)
    values = eval_features[:, column]
    edges = np.quantile(values, [0, 1 / 3, 2 / 3, 1])
    region_of = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 2)
    out.mkdir(parents=True, exist_ok=True)
    rows, samples = [], []
    for region in range(3):
        index = np.flatnonzero(region_of == region)
        reference, other = index[: len(index) // 2], index[len(index) // 2 : 2 * (len(index) // 2)]
        real = eval_real[reference]
        generated = generate(len(other), seed=seed, jet_features=eval_features[other])
        metrics = jet_metrics(real, generated, seed, sizes)
        baseline = jet_metrics(real, eval_real[other], seed, sizes)
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
        pt = eval_features[other, 0]  # the jet pT the generated jets were given
        samples.append((span, real, eval_features[reference, 0], generated, pt))
    table = pd.DataFrame(rows)
    table.to_csv(out / "regions.csv", index=False)
    plot_regions(samples, feature, out / "regions.png")
    masses = [
        (span, np.median(relative_jet_mass(r) * pr), np.median(relative_jet_mass(g) * pg))
        for span, r, pr, g, pg in samples
    ]
    lines = [
        f"# Conditional MPGAN: metrics per {feature} region",
        "",
        f"{len(eval_real)} held-out jets in terciles of {feature}; per region, generated "
        "jets with the labels and multiplicities of one half of the region's real jets, "
        "compared with the other half (the reference), next to the real-vs-real value of the "
        f"two halves (jetnet 0.2.5 metrics, seed {seed}; {sizes}).",
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
        masses = {
            "real": relative_jet_mass(real) * real_pt,
            "generated": relative_jet_mass(generated) * gen_pt,
        }
        bins = np.linspace(0, np.percentile(masses["real"], 99.5), 50)
        for name, m in masses.items():
            row[3].hist(m, bins=bins, histtype="step", density=True, label=name)
        row[3].set_xlabel("jet mass [GeV]")
        row[0].set_ylabel(f"{feature} {span}")
    axes[0, 3].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
