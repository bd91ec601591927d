"""Compare training runs side by side: loss curves, evaluations and step times.

    python -m launch.compare_runs runs/precision-bf16 runs/precision-off --out docs/precision

Reads each run directory's ``metrics.csv``, ``evaluations.csv``, ``timing.jsonl`` and
``config.json`` and writes into ``--out``: ``losses.png`` (every metric column of
``metrics.csv`` against the step, one curve per run), ``quality.png`` (every evaluation metric
against the training time, with the real-vs-real value), ``comparison.md`` (each evaluation's
metrics side by side, with the real-vs-real values, the mean step time and the command of each
run) and a copy of each run's CSV files (``<run>-metrics.csv``, ``<run>-evaluations.csv``), so
that the comparison outlives the run directories.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from launch.timing import read_timing

SHOWN = ("w1m", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd", "fpnd", "emd_median_gvae")


def plot_losses(metrics: dict[str, pd.DataFrame], path: Path) -> None:
    """Every metric column of any run against the step (a run without it: no curve)."""
    columns = list(dict.fromkeys(c for t in metrics.values() for c in t.columns))
    columns = [c for c in columns if c not in ("step", "epoch")]
    fig, axes = plt.subplots(1, len(columns), figsize=(5 * len(columns), 3.6), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        for name, table in metrics.items():
            if column in table:
                rows = table[table[column].notna()]  # (a phase that skips steps)
                ax.plot(rows.step, rows[column], label=name, lw=1)
        ax.set(xlabel="step", ylabel=column)
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_quality(evaluations: dict[str, pd.DataFrame], times: dict[str, pd.Series], path: Path):
    """The evaluations' metrics against the training time (Σ step time up to each evaluation,
    evaluations excluded), log scale: runs with other step costs compared at equal time."""
    shown = [m for m in SHOWN if any(m in t for t in evaluations.values())]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], shown, strict=True):
        for name, table in evaluations.items():
            if metric in table:
                elapsed = times[name].reindex(table.step).to_numpy() / 60
                ax.plot(elapsed, table[metric], marker=".", label=name, lw=1)
        reference = next(
            (t[f"real_{metric}"] for t in evaluations.values() if f"real_{metric}" in t), None
        )
        if reference is not None:
            ax.axhline(reference.iloc[0], color="k", ls=":", lw=1, label="real vs real")
        scale = {"cov": "linear", "kpd": "symlog"}.get(metric, "log")  # KPD can be < 0
        ax.set(xlabel="training time [min]", ylabel=metric, yscale=scale)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def comparison_table(evaluations: dict[str, pd.DataFrame]) -> str:
    """Markdown: one row per (step, run), the metrics present in every run."""
    shown = [m for m in SHOWN if all(m in t for t in evaluations.values())]
    lines = ["| step | run | " + " | ".join(shown) + " |", "|---|---|" + "---|" * len(shown)]
    steps = sorted(set().union(*(set(t.step) for t in evaluations.values())))
    for step in steps:
        for name, table in evaluations.items():
            row = table[table.step == step]
            if len(row):
                cells = [f"{row[m].iloc[0]:.3g}" for m in shown]
                lines.append(f"| {step} | {name} | " + " | ".join(cells) + " |")
    first = next(iter(evaluations.values()))
    if all(f"real_{m}" in first for m in shown):
        lines.append(
            "| | real vs real | "
            + " | ".join(f"{first[f'real_{m}'].iloc[0]:.3g}" for m in shown)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.compare_runs",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", type=Path, nargs="+", help="run directories")
    parser.add_argument("--out", type=Path, required=True, help="folder for the comparison")
    args = parser.parse_args(argv)
    missing = [r for r in args.runs if not (r / "metrics.csv").is_file()]
    if missing:
        parser.error(f"{missing[0]}: not a run directory (no metrics.csv)")
    args.out.mkdir(parents=True, exist_ok=True)
    metrics, evaluations, times, lines = {}, {}, {}, []
    for run in args.runs:
        metrics[run.name] = pd.read_csv(run / "metrics.csv")
        metrics[run.name].to_csv(args.out / f"{run.name}-metrics.csv", index=False)
        if (run / "evaluations.csv").is_file():
            evaluations[run.name] = pd.read_csv(run / "evaluations.csv")
            evaluations[run.name].to_csv(args.out / f"{run.name}-evaluations.csv", index=False)
        config = json.loads((run / "config.json").read_text())
        timing = read_timing(run / "timing.jsonl", warmup=1)
        times[run.name] = read_timing(run / "timing.jsonl").set_index("step").step_time.cumsum()
        lines.append(
            f"- `{run.name}`: {1e3 * timing.step_time.median():.0f} ms per step (median), "
            f"`python -m distributed.train {shlex.join(config['argv'])}`"
        )
    plot_losses(metrics, args.out / "losses.png")
    text = ["# Runs compared", "", *lines, "", "![losses](losses.png)", ""]
    if evaluations:
        plot_quality(evaluations, times, args.out / "quality.png")
        text += ["## Evaluations", "", "![quality](quality.png)", ""]
        text += [comparison_table(evaluations), ""]
    (args.out / "comparison.md").write_text("\n".join(text))
    print(f"-> {args.out / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
