"""Weak and strong scaling sweeps, and time to quality: one job per world size, tables and plots.

    python -m launch.scaling --model gvae --mode weak --np 1 2 4 --steps 100 --batch-size 32
    python -m launch.scaling --model mpgan --mode strong --np 1 2 --batch-size 64 --repeats 3
    python -m launch.scaling --model gvae --np 1 2 --launcher torchrun    # DDP instead of Horovod
    python -m launch.scaling --model gvae --np 1 2 -- --data my.h5 --loader-workers 0
    python -m launch.scaling --model gvae --quality --mode strong --np 1 2 4 --batch-size 32 \
        -- --epochs 30 --eval-every 5ep --emd-events 500        # time to quality

Each run is ``<launcher> … -m distributed.train MODEL --steps S --no-evaluate`` (horovodrun,
mpirun or torchrun); its per-step timing lines (``timing.jsonl``, rank 0) after ``--warmup``
steps give the execution time T(P) = Σ step time. Weak scaling keeps the batch per rank (the
global batch grows with P): speedup(P) = T(1) / (T(P) / P); strong scaling splits one global
batch over the ranks: speedup(P) = T(1) / T(P). Efficiency = speedup / P in both.

The machine's own bound: for every P > 1 the same P processes also run *independently* at the
same time (P single-process runs of the same command, with the same engine), which costs all
that sharing the machine costs (cores, memory bandwidth, caches) but no communication. Their
time T_bound(P) gives the bound's efficiency T(1)/T_bound(P) (weak), and the distributed
layer's own efficiency T_bound(P)/T(P): what the engine costs beyond running P processes.

The study folder ``<out>/<date>-<host>-<model>-<mode>/`` gets results.csv, table.md (the layout
of the GVAE paper's table, then the bound), scaling.png, environment.json and each run's timing
lines; it is written to a temporary folder first and moved into place only when every run
succeeded.

Time to quality (``--quality``): throughput alone cannot see that a larger global batch takes
fewer optimizer steps per epoch. Each world size trains with the run's own schedule and
evaluations (``--epochs``/``--steps``, ``--eval-every`` after ``--``), strong scaling as
``--global-batch-size B`` (the updates of one process), weak as ``--batch-size B`` per rank
(with the run's ``--scale-lr``). From each run's ``evaluations.csv`` (the task's selection
metric, lower is better: GVAE median EMD, MPGAN ``--selection-metric``) and ``timing.jsonl``:
the quality reached, and the training time — the sum of step times, evaluations excluded — until
the first evaluation at or below ``--target`` (default: the smallest world size's final value
× 1.15), ``time_to_quality(np)``, and its speedup over the smallest np. Writes quality.csv,
curves.csv, quality.md and quality.png (quality against training time and against samples seen,
one line per np), and results.csv (per-step timing, for ``launch.scaling_model``). ``--repeats``
runs each np with seeds 0, 1, …: a model's final quality varies from seed to seed, and the
table shows the mean and spread. No independent runs: the bound is about throughput.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm import tqdm

from distributed.config import HelpFormatter
from distributed.options import TrainOptions
from distributed.options import batch_per_rank as trainer_batch_per_rank
from distributed.train import model_names
from launch.environment import MALLOC, horovod_env
from launch.timing import read_timing, summarise_timing
from storage.files import read_checkpoint

log = logging.getLogger("launch.scaling")

# Environment variables a launcher must carry to other nodes (mpirun -x); horovodrun copies all.
FORWARDED = ("PATH", "LD_LIBRARY_PATH", "OPAL_PREFIX", "OMPI_MCA_mpi_yield_when_idle", *MALLOC)


def scaling_table(times: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Speedup and efficiency per world size from per-run execution times.

    Args:
        times: one row per run with columns ``np`` and ``time_s`` (repeats share an ``np``).
        mode: ``weak`` (work per rank fixed) or ``strong`` (total work fixed).

    Returns:
        One row per ``np`` (ascending): repeats, time_mean_s, time_std_s (population std over
        repeats, 0 for one), speedup and efficiency, both relative to the smallest ``np``.
    """
    if mode not in ("weak", "strong"):
        raise ValueError(f"mode must be 'weak' or 'strong', got {mode!r}")
    grouped = times.groupby("np").time_s
    table = pd.DataFrame(
        {
            "repeats": grouped.size(),
            "time_mean_s": grouped.mean(),
            "time_std_s": grouped.std(ddof=0),
        }
    ).sort_index()
    base_np, base_time = table.index[0], table.time_mean_s.iloc[0]
    relative = table.index / base_np
    table["speedup"] = base_time / table.time_mean_s
    if mode == "weak":
        table["speedup"] *= relative  # T(1) / (T(p) / p)
    table["efficiency"] = table.speedup / relative
    return table.reset_index()


def paper_table(results: pd.DataFrame) -> str:
    """Markdown table with one column per world size, as in the GVAE paper."""
    rows = pd.DataFrame(
        {
            "Mean execution time (s)": results.time_mean_s.map("{:.2f}".format),
            "Stddev execution time (s)": results.time_std_s.map("{:.2f}".format),
            "Speedup": results.speedup.map("{:.2f}".format),
            "Parallelization efficiency": results.efficiency.map("{:.2f}".format),
        }
    ).T
    rows.columns = [f"np = {n}" for n in results.np]
    align = ("left",) + ("right",) * len(rows.columns)
    return rows.to_markdown(disable_numparse=True, colalign=align)


def plot_scaling(results: pd.DataFrame, title: str, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ranks = results.np
    left.plot(ranks, ranks / ranks.iloc[0], "k--", label="ideal")
    left.plot(ranks, results.speedup, "o-", label="measured")
    left.set(xlabel="ranks", ylabel="speedup", xticks=list(ranks))
    left.legend()
    right.axhline(1.0, color="k", ls="--", label="ideal")
    right.plot(ranks, results.efficiency, "o-", label="measured")
    right.plot(ranks, results.bound_efficiency, "s:", label="machine bound (independent runs)")
    right.set(xlabel="ranks", ylabel="parallel efficiency", ylim=(0, 1.1), xticks=list(ranks))
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


LAUNCHERS = ("horovodrun", "mpirun", "torchrun")


def installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def launcher_command(launcher: str, ranks: int) -> list[str]:
    """The command up to ``distributed.train`` for ``ranks`` processes: horovodrun or torchrun
    on this host; mpirun on this host or across the nodes of the Slurm allocation it runs in."""
    module = ["-m", "distributed.train"]
    if launcher == "torchrun":
        return ["torchrun", "--standalone", "--nproc-per-node", str(ranks), *module]
    if launcher == "horovodrun":
        return [
            "horovodrun",
            "-np",
            str(ranks),
            "-H",
            f"localhost:{ranks}",
            sys.executable,
            *module,
        ]
    forwarded = [arg for name in FORWARDED if name in os.environ for arg in ("-x", name)]
    # Horovod's own mpirun flags: no core binding (the trainer sets threads per rank).
    binding = ["--oversubscribe", "-bind-to", "none", "-map-by", "slot"]
    return ["mpirun", "-np", str(ranks), *binding, *forwarded, sys.executable, *module]


def independent_command(launcher: str, model: str) -> list[str]:
    """One process of the machine-bound runs: no launcher, the launcher's engine."""
    backend = "torch" if launcher == "torchrun" else "horovod"
    return [sys.executable, "-m", "distributed.train", model, "--engine", backend]


def batch_per_rank(mode: str, batch_size: int, ranks: int) -> int:
    """Weak: ``batch_size`` per rank; strong: the global ``batch_size`` split over the ranks,
    by the trainer's own rule (:func:`distributed.options.batch_per_rank`; ValueError if it does
    not divide)."""
    flag = "batch_size" if mode == "weak" else "global_batch_size"
    return trainer_batch_per_rank(TrainOptions(**{flag: batch_size}), ranks)


def batch_flags(mode: str, batch_size: int) -> list[str]:
    """The trainer's flags for the batch: a global batch split over the ranks (strong), or a
    batch per rank (weak)."""
    flag = "--global-batch-size" if mode == "strong" else "--batch-size"
    return [flag, str(batch_size)]


def run_training(commands: list[list[str]], log_paths: list[Path]) -> None:
    """Run the commands at the same time; raise naming the first that failed."""
    logs = [path.open("w") for path in log_paths]
    try:
        procs = [
            subprocess.Popen(c, env=horovod_env(), stdout=log, stderr=subprocess.STDOUT)
            for c, log in zip(commands, logs, strict=True)
        ]
        codes = [proc.wait() for proc in procs]
    finally:
        for log in logs:
            log.close()
    for command, path, code in zip(commands, log_paths, codes, strict=True):
        if code != 0:
            tail = path.read_text().strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"exit {code}: {shlex.join(command)}: {tail[0]}")


def parameter_count(checkpoint: Path) -> int:
    state = read_checkpoint(checkpoint)
    return sum(v.numel() for model in state["models"].values() for v in model.values())


def environment(args: argparse.Namespace, commands: list[str], parameters: int) -> dict:
    """Where and how the study ran."""
    cpu = platform.processor()
    if Path("/proc/cpuinfo").is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    mpi = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, env=horovod_env())
    return {
        "host": socket.gethostname(),
        "date": date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "threads_per_rank": args.threads_per_rank,
        "model": args.model,
        "mode": args.mode,
        "parameters": parameters,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "horovod": installed_version("horovod"),
            "mpi": mpi.stdout.splitlines()[0] if mpi.stdout else "unknown",
        },
        "tuning": {k: os.environ.get(k) for k in (*MALLOC, "OMPI_MCA_mpi_yield_when_idle")},
        "sweep": shlex.join([sys.executable, "-m", "launch.scaling", *sys.argv[1:]]),
        "runs": commands,
    }


def sweep(args: argparse.Namespace, study: Path) -> pd.DataFrame:
    """Run every (np, repeat), distributed and, for np > 1, as independent processes; write each
    run's timing into ``study/runs``; one row per run (``kind``: distributed or independent)."""
    (study / "runs").mkdir(parents=True)
    rows, commands = [], []
    plan = [
        (ranks, repeat, kind)
        for ranks in args.np
        for repeat in range(args.repeats)
        for kind in ("distributed", "independent")
        if kind == "distributed" or (ranks > 1 and args.bound)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        bar = tqdm(plan, desc=f"{args.model} {args.mode} scaling", unit="run")
        for ranks, repeat, kind in bar:
            bar.set_postfix(np=ranks, repeat=repeat, kind=kind)
            name = f"np{ranks}-r{repeat}" + ("-independent" if kind == "independent" else "")
            batch = batch_per_rank(args.mode, args.batch_size, ranks)
            train = [*batch_flags(args.mode, args.batch_size), "--seed", str(repeat)]
            train += ["--threads-per-rank", str(args.threads_per_rank)]
            train += ["--steps", str(args.steps)] if args.steps else []
            train += [] if args.quality else ["--no-evaluate"]
            if kind == "independent":  # each process alone runs one rank's share
                train[:2] = ["--batch-size", str(batch)]
            if kind == "distributed":
                outs = [Path(tmp) / name]
                runs = [[*launcher_command(args.launcher, ranks), args.model, *train]]
            else:  # the same processes, each alone: the machine's bound
                outs = [Path(tmp) / f"{name}{i}" for i in range(ranks)]
                runs = [[*independent_command(args.launcher, args.model), *train] for _ in outs]
            runs = [
                [*run, "--out", str(out), *args.train_args]
                for run, out in zip(runs, outs, strict=True)
            ]
            commands += [shlex.join(run) for run in runs]
            run_training(runs, [Path(tmp) / f"{out.name}.log" for out in outs])
            for i, out in enumerate(outs):
                suffix = str(i) if kind == "independent" else ""
                shutil.copy(out / "timing.jsonl", study / "runs" / f"{name}{suffix}.jsonl")
            if args.quality:
                for file in ("evaluations.csv", "config.json", "evaluation.json"):
                    shutil.copy(outs[0] / file, study / "runs" / f"{name}-{file}")
            timings = [read_timing(out / "timing.jsonl", args.warmup) for out in outs]
            # Independent runs: the mean process, and all of them for the throughput.
            row = summarise_timing(pd.concat(timings).groupby(level=0).mean(), batch * ranks)
            rows.append(
                {"np": ranks, "repeat": repeat, "kind": kind, "batch_per_rank": batch, **row}
            )
            if ranks == args.np[0] and repeat == 0 and kind == "distributed":
                parameters = parameter_count(outs[0] / "checkpoint.pt")
    env = environment(args, commands, parameters)
    (study / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    return pd.DataFrame(rows)


def selection_metric(config: dict) -> str:
    """The evaluation column that picks best.pt in a run (lower is better), as the run's
    ``config.json`` records it."""
    if "selection_metric" not in config:
        raise ValueError("config.json records no selection_metric (a run older than 0.2?)")
    return config["selection_metric"]


def quality_curve(study: Path, name: str) -> tuple[pd.DataFrame, str]:
    """One run's evaluations with the training time and samples seen at each: columns step,
    quality, time_s (Σ step time up to that step), samples; and the metric's name."""
    config = json.loads((study / "runs" / f"{name}-config.json").read_text())
    metric = selection_metric(config)
    evaluations = pd.read_csv(study / "runs" / f"{name}-evaluations.csv")
    timing = read_timing(study / "runs" / f"{name}.jsonl")
    elapsed = timing.set_index("step").step_time.cumsum()
    global_batch = (timing.samples_per_s * timing.step_time).round().astype(int).iloc[0]
    curve = pd.DataFrame(
        {
            "step": evaluations.step,
            "quality": evaluations[metric],
            "time_s": elapsed.reindex(evaluations.step).to_numpy(),
            "samples": evaluations.step * global_batch,
        }
    )
    return curve, metric


def mean_curve(curves: list[pd.DataFrame]) -> pd.DataFrame:
    """The repeats' curves (the same evaluation steps, other seeds) averaged step by step, with
    the quality's spread over repeats (``quality_std``, population; 0 for one repeat)."""
    table = pd.concat(curves).groupby("step", sort=True)
    mean = table[["quality", "time_s", "samples"]].mean()
    mean["quality_std"] = table.quality.std(ddof=0)
    return mean.reset_index()


def time_to_quality(curve: pd.DataFrame, target: float) -> float:
    """Training time (s) of the first evaluation at or below ``target`` (NaN: never)."""
    reached = curve[curve.quality <= target]
    return float(reached.time_s.iloc[0]) if len(reached) else float("nan")


def quality_table(
    curves: dict[int, pd.DataFrame], target: float | None, tolerance: float = 0.15
) -> tuple[pd.DataFrame, float]:
    """quality.csv: per np the final quality (± its spread over repeats when ``curves`` come
    from :func:`mean_curve`), the best, training time, samples seen, the time to ``target``
    (default: the smallest np's final quality × (1 + ``tolerance``)) and its speedup over the
    smallest np."""
    ranks = sorted(curves)
    if target is None:
        target = float(curves[ranks[0]].quality.iloc[-1]) * (1 + tolerance)
    rows = []
    for n in ranks:
        curve = curves[n]
        rows.append(
            {
                "np": n,
                "steps": int(curve.step.iloc[-1]),
                "samples": int(curve.samples.iloc[-1]),
                "final_quality": float(curve.quality.iloc[-1]),
                "final_quality_std": float(curve.get("quality_std", curve.quality * 0).iloc[-1]),
                "best_quality": float(curve.quality.min()),
                "time_s": float(curve.time_s.iloc[-1]),
                "time_to_quality_s": time_to_quality(curve, target),
            }
        )
    table = pd.DataFrame(rows)
    table["speedup_to_quality"] = table.time_to_quality_s.iloc[0] / table.time_to_quality_s
    table["quality_vs_smallest_np"] = table.final_quality / table.final_quality.iloc[0]
    table["samples_per_s"] = table.samples / table.time_s
    table["target"] = target
    return table, target


def plot_quality(
    curves: dict[int, pd.DataFrame], metric: str, target: float, title: str, path: Path
) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for n, curve in sorted(curves.items()):
        left.plot(curve.time_s, curve.quality, "o-", label=f"np {n}")
        right.plot(curve.samples, curve.quality, "o-", label=f"np {n}")
    for ax, xlabel in ((left, "training time (s, Σ step time)"), (right, "samples seen")):
        ax.axhline(target, color="k", ls=":", label="target")
        ax.set(xlabel=xlabel, ylabel=metric, yscale="log")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_quality_study(args: argparse.Namespace, study: Path) -> pd.DataFrame:
    """quality.csv, curves.csv, quality.md and quality.png of a ``--quality`` sweep."""
    curves, metric = {}, ""
    for n in args.np:
        runs = [quality_curve(study, f"np{n}-r{r}") for r in range(args.repeats)]
        curves[n], metric = mean_curve([curve for curve, _ in runs]), runs[0][1]
    table, target = quality_table(curves, args.target)
    table.to_csv(study / "quality.csv", index=False, float_format="%.6g")
    pd.concat([c.assign(np=n) for n, c in curves.items()]).to_csv(
        study / "curves.csv", index=False, float_format="%.6g"
    )
    env = json.loads((study / "environment.json").read_text())
    batch = "batch per rank" if args.mode == "weak" else "global batch"
    title = (
        f"{args.model.upper()} time to quality, {args.mode} scaling ({batch} {args.batch_size}), "
        f"{env['host']} ({env['cores']} cores)"
    )
    oversubscribed = [n for n in args.np if n * args.threads_per_rank > (os.cpu_count() or 1)]
    lines = [
        f"# {title}",
        "",
        f"Quality: `{metric}` of the last evaluation (lower is better), the mean of "
        f"{args.repeats} run(s) with seeds 0…{args.repeats - 1} (± their spread); target "
        f"{target:.4g}"
        + (" (given)" if args.target is not None else f" (np {args.np[0]}'s final × 1.15)")
        + "; time = Σ step time (evaluations excluded) until the first evaluation at or below "
        "it.",
        "",
        "| np | steps | samples seen | final | best | vs np "
        f"{args.np[0]} | samples/s | training time (s) | time to quality (s) | speedup |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        mark = " ¹" if r.np in oversubscribed else ""
        lines.append(
            f"| {r.np}{mark} | {r.steps} | {r.samples} | {r.final_quality:.4g} ± "
            f"{r.final_quality_std:.2g} | "
            f"{r.best_quality:.4g} | {r.quality_vs_smallest_np:.2f} | {r.samples_per_s:.1f} | "
            f"{r.time_s:.1f} | {r.time_to_quality_s:.1f} | {r.speedup_to_quality:.2f} |"
        )
    if oversubscribed:
        lines += [
            "",
            f"¹ {', '.join(map(str, oversubscribed))} rank(s) × {args.threads_per_rank} "
            f"thread(s) on {os.cpu_count()} cores: oversubscribed; its time says nothing about "
            "scaling, its quality per sample seen does (statistical efficiency).",
        ]
    (study / "quality.md").write_text("\n".join(lines) + "\n")
    plot_quality(curves, metric, target, title, study / "quality.png")
    return table


def summarise(runs: pd.DataFrame, mode: str) -> pd.DataFrame:
    """results.csv: the scaling table, per-step means, the data-wait and communication shares,
    and against the machine's bound (the independent runs; np = 1 is its own bound):
    ``bound_time_s``, ``bound_efficiency`` (the bound's own scaling efficiency) and
    ``efficiency_vs_bound`` = T_bound(p) / T(p)."""
    distributed = runs[runs.kind == "distributed"]
    means = distributed.groupby("np")[
        ["step_ms", "compute_ms", "communication_ms", "data_wait_ms", "samples_per_s"]
    ].mean()
    results = scaling_table(distributed, mode).merge(means.reset_index(), on="np")
    results["data_wait_share"] = results.data_wait_ms / results.step_ms
    results["communication_share"] = results.communication_ms / results.step_ms
    bound = runs[(runs.kind == "independent") | (runs.np == 1)]  # one process: its own bound
    bound = bound.groupby("np").time_s.mean().reindex(results.np).to_numpy()
    results["bound_time_s"] = bound
    per_process = results.np / results.np.iloc[0] if mode == "strong" else 1
    results["bound_efficiency"] = results.time_mean_s.iloc[0] / (bound * per_process)
    results["efficiency_vs_bound"] = bound / results.time_mean_s
    return results


def write_study(runs: pd.DataFrame, args: argparse.Namespace, study: Path) -> pd.DataFrame:
    results = summarise(runs, args.mode)
    results.to_csv(study / "results.csv", index=False, float_format="%.6g")
    env = json.loads((study / "environment.json").read_text())
    title = (
        f"{args.model.upper()} {args.mode} scaling, {env['host']} ({env['cores']} cores, "
        f"{args.threads_per_rank} thread(s)/rank), {args.steps - args.warmup} timed steps"
    )
    per_rank = "batch per rank" if args.mode == "weak" else "global batch"
    (study / "table.md").write_text(
        f"# {title}\n\n{paper_table(results)}\n\n"
        f"{per_rank} {args.batch_size}, {args.repeats} repeat(s), launcher {args.launcher}; "
        f"execution time = Σ step time of steps {args.warmup + 1}–{args.steps}. "
        + (
            "Weak scaling: speedup = T(1)/(T(p)/p)."
            if args.mode == "weak"
            else "Strong scaling: speedup = T(1)/T(p)."
        )
        + " Efficiency = speedup/p.\n\n"
        "Against the machine's bound — the same np processes run independently at the same "
        "time (no communication): the bound's own efficiency, and the distributed run's "
        "efficiency relative to it, T_bound(p)/T(p).\n\n"
        "| np | samples/s | step (ms) | data wait | communication | bound efficiency | "
        "efficiency | vs bound |\n|---|---|---|---|---|---|---|---|\n"
        + "".join(
            f"| {r.np} | {r.samples_per_s:.1f} | {r.step_ms:.1f} | {r.data_wait_share:.1%} | "
            f"{r.communication_share:.1%} | {r.bound_efficiency:.3f} | {r.efficiency:.3f} | "
            f"{r.efficiency_vs_bound:.3f} |\n"
            for r in results.itertuples()
        )
    )
    plot_scaling(results, title, study / "scaling.png")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.scaling",
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- go to distributed.train (e.g. -- --data FILE).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model",
        choices=model_names(),
        required=True,
        help="the model trained in every run (a registered model: python -m distributed.train)",
    )
    parser.add_argument(
        "--mode",
        choices=["weak", "strong"],
        default="weak",
        help="weak: fixed batch per rank; strong: fixed global batch split over the ranks",
    )
    parser.add_argument("--np", type=int, nargs="+", default=[1, 2, 4], help="world sizes")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per run (default: 100; with --quality: the run's own --epochs)",
    )
    parser.add_argument(
        "--quality",
        action="store_true",
        help="time to quality: train each np with its evaluations (give --epochs and "
        "--eval-every after --), report the quality reached and the time to --target",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=None,
        help="with --quality: the selection metric to reach (default: the smallest np's final "
        "value × 1.15)",
    )
    parser.add_argument("--warmup", type=int, default=10, help="first steps not timed")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="per rank (weak) or global (strong)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per world size (seeds 0, 1, …)"
    )
    parser.add_argument(
        "--launcher", choices=LAUNCHERS, default="horovodrun", help="starts each run's ranks"
    )
    parser.add_argument(
        "--bound",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run each np > 1 as np independent processes on this host (the machine's own "
        "bound)",
    )
    parser.add_argument(
        "--threads-per-rank", type=int, default=1, help="torch threads of each rank"
    )
    parser.add_argument("--out", type=Path, default=Path("scaling_reports"), help="parent folder")
    parser.add_argument("--name", help="study folder name (default <date>-<host>-<model>-<mode>)")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    args.np = sorted(set(args.np))
    if args.quality:
        args.bound, args.warmup = False, 0
    elif args.steps is None:
        args.steps = 100
    if args.np[0] < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error("need --np >= 1, --warmup >= 0 and --repeats >= 1")
    if args.steps is not None and args.steps <= args.warmup:
        parser.error("need --steps > --warmup")
    try:
        for ranks in args.np:
            batch_per_rank(args.mode, args.batch_size, ranks)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    kind = f"quality-{args.mode}" if args.quality else args.mode
    name = args.name or f"{date.today():%Y%m%d}-{socket.gethostname()}-{args.model}-{kind}"
    study = args.out / name
    args.out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=args.out))
    try:
        runs = sweep(args, staging)
        if args.quality:  # the same data in every run (--epochs): T(1)/T(p) is the speedup
            summarise(runs, "strong" if args.steps is None else args.mode).to_csv(
                staging / "results.csv", index=False, float_format="%.6g"
            )
            results = write_quality_study(args, staging)
        else:
            results = write_study(runs, args, staging)
    except (RuntimeError, FileNotFoundError, ValueError) as err:
        shutil.rmtree(staging)
        print(f"launch.scaling: error: {err}", file=sys.stderr)
        return 1
    except BaseException:
        shutil.rmtree(staging)
        raise
    if study.exists():
        shutil.rmtree(study)
    staging.rename(study)
    shown = ["np", "time_mean_s", "speedup", "efficiency", "samples_per_s"]
    shown += ["data_wait_share", "communication_share", "bound_efficiency", "efficiency_vs_bound"]
    if args.quality:
        shown = ["np", "steps", "final_quality", "time_s", "time_to_quality_s"]
        shown += ["speedup_to_quality", "samples_per_s"]
    log.info(
        "%s\n-> %s", results[shown].to_string(index=False, float_format="{:.4g}".format), study
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
