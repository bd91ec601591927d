"""The MPGAN paper's Table 2 measured: every generator × discriminator row of one jet class, from
the published generators or from runs trained here, beside the printed numbers.

    python -m mpgan.table2 --jet-type g --published trained_models --out docs/table2/g
    python -m mpgan.table2 --jet-type g --runs runs/fc-fc runs/mp-mp --published trained_models \\
        --reference jetnet_g_test.hdf5 --out table2/

Each row's generator is a run trained with this project (``--runs``: run directories or
checkpoints; ``best.pt`` if the run has one) or, where no run is given for the row, the published
generator ``--published DIR/<row>_<class>`` imported by :mod:`mpgan.import_published`. Per row,
as the paper's ``final_evaluation.py`` (Kansal et al., NeurIPS 2021, arXiv:2106.11535):

- ``--jets`` generated jets (50 000), masked generators taking the reference jets'
  multiplicities (the published ``gen.py`` drew JetNet's test labels), the generator in eval
  mode; negative pT written as 0;
- FPND on the first 30 particles of the first 50 000 against the real JetNet statistics that
  jetnet ships (no JetNet file needed);
- W1M, W1P, W1EFP, FPD, KPD, COV, MMD by jetnet 0.2.5 (:mod:`evaluation.jet_metrics`, its protocol
  unless ``--metric-jets``) against the reference: ``--reference FILE`` (JetNet's test split, every
  jet) or, without one, the embedded Pythia jets of ``data/jets/<class>.hdf5`` (their last 30 %,
  the split the trained runs hold out), labelled as such — not JetNet, so W1/FPD/COV/MMD measure
  the distance to another sample than the paper's; TreeGAN's 32 particles all count (the paper's
  choice);
- a real-vs-real row: the reference's two halves against each other (the floor each metric can
  reach at that sample size), and the FPND of the reference jets.

Writes ``table2.csv`` (every number, with errors, and the printed ones), ``table2.md`` (the
paper's units: W1M ×10³, W1P ×10³, W1EFP ×10⁵; measured / printed) and ``distributions.png`` (a
row per Table 2 row: ηrel, φrel, pTrel of real particles and the relative jet mass, against the
reference).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaluation.fpnd import FPND_JETS, fpnd
from evaluation.jet_metrics import (
    MetricSizes,
    degenerate_jets,
    jet_metrics,
    physical_jets,
    relative_jet_mass,
)
from evaluation.jetnet import N_PARTICLES
from events.jetnet import read_jetnet
from mpgan.import_published import import_published
from mpgan.rows import METRICS, PUBLISHED, ROWS, SCALES, Row, row_of
from mpgan.task import MPGANTask
from storage.files import atomic_write

log = logging.getLogger("mpgan.table2")

HELD_OUT = 0.3  # the embedded reference: the last 30 % of the file (--preset paper's split)


@dataclass
class Source:
    """Where a row's generator comes from: a task holding it, and a line saying which."""

    row: Row
    task: MPGANTask
    origin: str


def reference_jets(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """(particles [N, 30, 4], jet features [N, 4], a label) of the real sample. A sample whose
    metrics cannot mean anything (:func:`evaluation.jet_metrics.degenerate_jets`) is said in a
    warning and in the label, which the table prints."""
    if args.reference is not None:
        particles, features = read_jetnet(args.reference)
        label = f"{args.reference} ({len(particles)} jets, all)"
    else:
        path = Path("data/jets") / f"{args.jet_type}.hdf5"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such file; `make data` generates it, or --reference"
            )
        particles, features = read_jetnet(path)
        start = int(round((1 - HELD_OUT) * len(particles)))
        particles, features = particles[start:], features[start:]
        label = (
            f"embedded Pythia {args.jet_type} jets, {path} (its last {len(particles)}, not "
            "JetNet: pass --reference with JetNet's test split for the paper's comparison)"
        )
    if problem := degenerate_jets(particles):
        log.warning("%s: the reference jets cannot be judged: %s", label, problem)
        label += f"; **the reference cannot be judged: {problem}**"
    return particles, features, label


def run_checkpoint(path: Path) -> Path:
    """A run directory's ``best.pt`` (else ``checkpoint.pt``), or the checkpoint itself."""
    if path.is_dir():
        for name in ("best.pt", "checkpoint.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: no best.pt or checkpoint.pt in this run directory")
    return path


def sources(args: argparse.Namespace, data: Path) -> list[Source]:
    """Every row of the class with a generator: the runs given, then the published ones."""
    found: dict[str, Source] = {}
    for run in args.runs:
        checkpoint = run_checkpoint(run)
        task = MPGANTask.from_checkpoint(checkpoint, data)
        model = task.models["generator"].cfg
        if task.jet_type != args.jet_type:
            raise ValueError(f"{checkpoint}: a {task.jet_type} run, not {args.jet_type}")
        row = row_of(model.generator, model.discriminator)
        found[row.directory] = Source(row, task, f"trained here: {checkpoint}")
    for row in ROWS:
        directory = args.published / f"{row.directory}_{args.jet_type}" if args.published else None
        if row.directory in found or directory is None or not directory.is_dir():
            continue
        task = MPGANTask.from_state(import_published(directory, data), data)
        found[row.directory] = Source(row, task, f"published: {directory}")
    if not found:
        raise ValueError("no generator: give --runs or --published with <row>_<class> directories")
    return [found[row.directory] for row in ROWS if row.directory in found]


def evaluate_row(
    source: Source, real: np.ndarray, features: np.ndarray, args: argparse.Namespace
) -> tuple[dict[str, float], np.ndarray]:
    """The row's metrics and its generated jets (physical units, negative pT zeroed)."""
    index = np.arange(args.jets) % len(features)  # the reference's multiplicities, cycled
    # Batches of 1024: an MP generator's pair tensors at 4096 jets take gigabytes each.
    generated = source.task.generate(
        args.jets, batch_size=1024, seed=args.seed, jet_features=features[index]
    )
    generated = physical_jets(generated)
    metrics = jet_metrics(real, generated, args.seed, MetricSizes.at_most(args.metric_jets))
    metrics["fpnd"] = fpnd(generated[:FPND_JETS, :N_PARTICLES], args.jet_type)
    return metrics, generated


def markdown(table: pd.DataFrame, args: argparse.Namespace, label: str, seconds: float) -> str:
    """``table2.md``: measured / printed in the paper's units."""
    head = ["W1M ×10³", "W1P ×10³", "W1EFP ×10⁵", "FPND", "COV ↑", "MMD"]
    lines = [
        f"# MPGAN paper, Table 2 ({args.jet_type} jets): measured here / printed",
        "",
        f"Command: `python -m mpgan.table2 {' '.join(sys.argv[1:])}` ({seconds / 60:.0f} min).",
        "",
        f"Reference (W1s, COV, MMD): {label}. FPND: jetnet's real JetNet statistics. "
        f"{args.jets} generated jets per row, seed {args.seed}; metric draws: "
        f"{MetricSizes.at_most(args.metric_jets)}.",
        "",
        "| G | D | " + " | ".join(head) + " | generator |",
        "|---|---|" + "---|" * (len(head) + 1),
    ]
    for r in table.itertuples():
        cells = []
        for metric in METRICS:
            value, error = getattr(r, metric), getattr(r, f"{metric}_err", np.nan)
            scale = SCALES.get(metric, 1.0)
            text = f"{value * scale:.3g}" + (
                f" ± {error * scale:.2g}" if np.isfinite(error) else ""
            )
            printed = getattr(r, f"paper_{metric}")
            cells.append(f"{text} / {printed}" if printed else text)
        g, _, d = r.row.partition(" + ")
        lines.append(f"| {g} | {d} | " + " | ".join(cells) + f" | {r.origin} |")
    lines += [
        "",
        "W1P is the mean over the three particle features (± their errors' root sum of squares "
        "over 3); the paper's ± is the norm of the per-feature σ. The real-vs-real row compares "
        "the reference's two halves (half the jets: a floor, not the paper's).",
        "",
        "![distributions per row](distributions.png)",
        "",
    ]
    return "\n".join(lines)


def plot_rows(real: np.ndarray, samples: list[tuple[str, np.ndarray]], path: Path) -> None:
    """One row per Table 2 row: ηrel, φrel, pTrel of real particles and m/pT, vs the reference."""
    fig, axes = plt.subplots(len(samples), 4, figsize=(15, 2.4 * len(samples)), squeeze=False)
    reference = {i: real[..., i][real[..., 3] > 0] for i in range(3)}
    bins = {i: np.linspace(*np.percentile(v, [0.5, 99.5]), 50) for i, v in reference.items()}
    real_mass = relative_jet_mass(real)
    bins[3] = np.linspace(0, np.percentile(real_mass, 99.5), 50)
    for row, (label, jets) in zip(axes, samples, strict=True):
        for i, name in enumerate(("ηrel", "φrel", "pTrel", "m/pT")):
            values = relative_jet_mass(jets) if i == 3 else jets[..., i][jets[..., 3] > 0]
            truth = real_mass if i == 3 else reference[i]
            row[i].hist(truth, bins=bins[i], histtype="stepfilled", alpha=0.3, density=True)
            row[i].hist(values, bins=bins[i], histtype="step", density=True, color="C1")
            row[i].set_xlabel(name)
        row[0].set_ylabel(label, fontsize=8)
    axes[0, 0].legend(["reference", "generated"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.table2",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Each row costs about 5 minutes on 2 CPU cores (FPND and the EFPs of 50 000 jets).",
    )
    parser.add_argument("--jet-type", choices=["g", "q", "t"], default="g", help="jet class")
    parser.add_argument("--published", type=Path, help="published trained_models directory")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="runs trained here")
    parser.add_argument("--reference", type=Path, help="JetNet test split of the class (HDF5)")
    parser.add_argument("--out", type=Path, required=True, help="folder for table2.md/.csv")
    parser.add_argument("--jets", type=int, default=50_000, help="generated jets per row")
    parser.add_argument(
        "--metric-jets", type=int, default=0, help="cap every metric draw (0: jetnet's protocol)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generation noise and metric draws")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start = time.perf_counter()
    try:
        if args.jets < 4:
            raise ValueError(f"--jets {args.jets}: need at least 4")
        MetricSizes.at_most(args.metric_jets)
        real, features, label = reference_jets(args)
        data = args.reference or Path("data/jets") / f"{args.jet_type}.hdf5"
        rows = sources(args, data)
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.table2: error: {err}", file=sys.stderr)
        return 2
    half = len(real) // 2
    sizes = MetricSizes.at_most(args.metric_jets)
    floor = jet_metrics(real[:half], real[half : 2 * half], args.seed, sizes)
    floor["fpnd"] = fpnd(real[:FPND_JETS], args.jet_type)
    records = [{"row": "real vs real", "origin": "the reference's two halves", **floor}]
    samples = []
    for number, source in enumerate(rows, 1):
        log.info("%d/%d %s (%s)", number, len(rows), source.row.name, source.origin)
        metrics, generated = evaluate_row(source, real, features, args)
        printed = PUBLISHED[args.jet_type][source.row.directory]
        paper = {f"paper_{m}": printed[i] for i, m in enumerate(METRICS)}
        records.append({"row": source.row.name, "origin": source.origin, **metrics, **paper})
        samples.append((source.row.name, generated))
        log.info(
            "%s: FPND %.3g (printed %s)", source.row.name, metrics["fpnd"], paper["paper_fpnd"]
        )
    table = pd.DataFrame(records)
    for metric in METRICS:
        table[f"paper_{metric}"] = table[f"paper_{metric}"].fillna("")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "table2.csv", table.to_csv(index=False))
    atomic_write(args.out / "table2.md", markdown(table, args, label, time.perf_counter() - start))
    plot_rows(real, samples, args.out / "distributions.png")
    print(f"{len(rows)} rows -> {args.out / 'table2.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
