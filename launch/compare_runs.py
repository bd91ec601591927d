"""Compare training runs side by side: loss curves, evaluations and step times.

    python -m launch.compare_runs runs/precision-bf16 runs/precision-off --out docs/precision

Reads each run directory's ``metrics.csv``, ``evaluations.csv``, ``timing.jsonl`` and
``config.json`` and writes into ``--out``: ``losses.png`` (every metric column of
``metrics.csv`` against the step, one curve per run), ``comparison.md`` (each evaluation's
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
    columns = [c for c in next(iter(metrics.values())).columns if c not in ("step", "epoch")]
    fig, axes = plt.subplots(1, len(columns), figsize=(5 * len(columns), 3.6), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        for name, table in metrics.items():
            ax.plot(table.step, table[column], label=name, lw=1)
        ax.set(xlabel="step", ylabel=column)
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
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
    metrics, evaluations, lines = {}, {}, []
    for run in args.runs:
        metrics[run.name] = pd.read_csv(run / "metrics.csv")
        metrics[run.name].to_csv(args.out / f"{run.name}-metrics.csv", index=False)
        if (run / "evaluations.csv").is_file():
            evaluations[run.name] = pd.read_csv(run / "evaluations.csv")
            evaluations[run.name].to_csv(args.out / f"{run.name}-evaluations.csv", index=False)
        config = json.loads((run / "config.json").read_text())
        timing = read_timing(run / "timing.jsonl", warmup=1)
        lines.append(
            f"- `{run.name}`: {1e3 * timing.step_time.median():.0f} ms per step (median), "
            f"`python -m distributed.train {shlex.join(config['argv'])}`"
        )
    plot_losses(metrics, args.out / "losses.png")
    text = ["# Runs compared", "", *lines, "", "![losses](losses.png)", ""]
    if evaluations:
        text += ["## Evaluations", "", comparison_table(evaluations), ""]
    (args.out / "comparison.md").write_text("\n".join(text))
    print(f"-> {args.out / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
