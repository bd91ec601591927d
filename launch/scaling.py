"""Weak and strong scaling sweeps: one Horovod job per world size, tables and plots of the result.

    python -m launch.scaling --model gvae --mode weak --np 1 2 4 --steps 100 --batch-size 32
    python -m launch.scaling --model mpgan --mode strong --np 1 2 --batch-size 64 --repeats 3
    python -m launch.scaling --model gvae --np 1 2 -- --data my.h5 --loader-workers 0

Each run is ``<launcher> -np P python -m distributed.train MODEL --steps S --no-evaluate``; its
per-step timing lines (``timing.jsonl``, rank 0) after ``--warmup`` steps give the execution
time T(P) = Σ step time. Weak scaling keeps the batch per rank (the global batch grows with P):
speedup(P) = T(1) / (T(P) / P); strong scaling splits one global batch over the ranks:
speedup(P) = T(1) / T(P). Efficiency = speedup / P in both. The study folder
``<out>/<date>-<host>-<model>-<mode>/`` gets results.csv, table.md (the layout of the GVAE
paper's table), scaling.png, environment.json and each run's timing lines; it is written to a
temporary folder first and moved into place only when every run succeeded.
"""

from __future__ import annotations

import argparse
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

import horovod
import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm import tqdm

from launch.environment import MALLOC, horovod_env
from launch.timing import read_timing

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
    right.set(xlabel="ranks", ylabel="parallel efficiency", ylim=(0, 1.1), xticks=list(ranks))
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def launcher_command(launcher: str, ranks: int) -> list[str]:
    """The launcher prefix for ``ranks`` processes: horovodrun on this host; mpirun on this
    host or across the nodes of the Slurm allocation it runs in."""
    if launcher == "horovodrun":
        return ["horovodrun", "-np", str(ranks), "-H", f"localhost:{ranks}"]
    forwarded = [arg for name in FORWARDED if name in os.environ for arg in ("-x", name)]
    # Horovod's own mpirun flags: no core binding (the trainer sets threads per rank).
    binding = ["--oversubscribe", "-bind-to", "none", "-map-by", "slot"]
    return ["mpirun", "-np", str(ranks), *binding, *forwarded]


def batch_per_rank(mode: str, batch_size: int, ranks: int) -> int:
    """Weak: ``batch_size`` per rank; strong: the global ``batch_size`` split over the ranks."""
    if mode == "weak":
        return batch_size
    if batch_size % ranks:
        raise ValueError(f"strong scaling: --batch-size {batch_size} is not divisible by {ranks}")
    return batch_size // ranks


def run_training(command: list[str], log_path: Path) -> None:
    with log_path.open("w") as out:
        proc = subprocess.run(command, env=horovod_env(), stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text().strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"exit {proc.returncode}: {shlex.join(command)}: {tail[0]}")


def parameter_count(checkpoint: Path) -> int:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
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
            "horovod": horovod.__version__,
            "mpi": mpi.stdout.splitlines()[0] if mpi.stdout else "unknown",
        },
        "tuning": {k: os.environ.get(k) for k in (*MALLOC, "OMPI_MCA_mpi_yield_when_idle")},
        "sweep": shlex.join([sys.executable, "-m", "launch.scaling", *sys.argv[1:]]),
        "runs": commands,
    }


def sweep(args: argparse.Namespace, study: Path) -> pd.DataFrame:
    """Run every (np, repeat); write each run's timing into ``study/runs``; per-run rows."""
    (study / "runs").mkdir(parents=True)
    rows, commands = [], []
    plan = [(ranks, repeat) for ranks in args.np for repeat in range(args.repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        bar = tqdm(plan, desc=f"{args.model} {args.mode} scaling", unit="run")
        for ranks, repeat in bar:
            bar.set_postfix(np=ranks, repeat=repeat)
            name = f"np{ranks}-r{repeat}"
            out = Path(tmp) / name
            batch = batch_per_rank(args.mode, args.batch_size, ranks)
            train = ["--steps", str(args.steps), "--batch-size", str(batch), "--seed", str(repeat)]
            train += ["--threads-per-rank", str(args.threads_per_rank), "--no-evaluate"]
            command = [
                *launcher_command(args.launcher, ranks),
                *(sys.executable, "-m", "distributed.train", args.model),
                *train,
                *("--out", str(out), *args.train_args),
            ]
            commands.append(shlex.join(command))
            run_training(command, Path(tmp) / f"{name}.log")
            shutil.copy(out / "timing.jsonl", study / "runs" / f"{name}.jsonl")
            timing = read_timing(out / "timing.jsonl", args.warmup)
            rows.append(
                {
                    "np": ranks,
                    "repeat": repeat,
                    "batch_per_rank": batch,
                    "steps": len(timing),
                    "time_s": timing.step_time.sum(),
                    "step_ms": 1e3 * timing.step_time.mean(),
                    "compute_ms": 1e3 * timing.compute.mean(),
                    "communication_ms": 1e3 * timing.communication.mean(),
                    "data_wait_ms": 1e3 * timing.data_wait.mean(),
                    "samples_per_s": batch * ranks * len(timing) / timing.step_time.sum(),
                }
            )
            if ranks == args.np[0] and repeat == 0:
                parameters = parameter_count(out / "checkpoint.pt")
    env = environment(args, commands, parameters)
    (study / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame, mode: str) -> pd.DataFrame:
    """results.csv: the scaling table plus per-step means and the data-wait/communication shares."""
    means = runs.groupby("np")[
        ["step_ms", "compute_ms", "communication_ms", "data_wait_ms", "samples_per_s"]
    ].mean()
    results = scaling_table(runs, mode).merge(means.reset_index(), on="np")
    results["data_wait_share"] = results.data_wait_ms / results.step_ms
    results["communication_share"] = results.communication_ms / results.step_ms
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
        "| np | samples/s | step (ms) | data wait | communication |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {r.np} | {r.samples_per_s:.1f} | {r.step_ms:.1f} | {r.data_wait_share:.1%} | "
            f"{r.communication_share:.1%} |\n"
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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=["gvae", "mpgan"], required=True)
    parser.add_argument("--mode", choices=["weak", "strong"], default="weak")
    parser.add_argument("--np", type=int, nargs="+", default=[1, 2, 4], help="world sizes")
    parser.add_argument("--steps", type=int, default=100, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="first steps not timed")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="per rank (weak) or global (strong)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per world size")
    parser.add_argument("--launcher", choices=["horovodrun", "mpirun"], default="horovodrun")
    parser.add_argument("--threads-per-rank", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("scaling_reports"), help="parent folder")
    parser.add_argument("--name", help="study folder name (default <date>-<host>-<model>-<mode>)")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    args.np = sorted(set(args.np))
    if args.np[0] < 1 or args.steps <= args.warmup or args.warmup < 0 or args.repeats < 1:
        parser.error("need --np >= 1, --steps > --warmup >= 0 and --repeats >= 1")
    try:
        for ranks in args.np:
            batch_per_rank(args.mode, args.batch_size, ranks)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    name = args.name or f"{date.today():%Y%m%d}-{socket.gethostname()}-{args.model}-{args.mode}"
    study = args.out / name
    args.out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=args.out))
    try:
        runs = sweep(args, staging)
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
    shown = ["np", "time_mean_s", "time_std_s", "speedup", "efficiency", "samples_per_s"]
    shown += ["data_wait_share", "communication_share"]
    log.info(
        "%s\n-> %s", results[shown].to_string(index=False, float_format="{:.3g}".format), study
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
