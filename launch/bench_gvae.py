"""GVAE training throughput: graphs/s and where the step goes, event graphs cached or rebuilt.

    python -m launch.bench_gvae                          # batch 32, 0 loader workers, 300 steps
    python -m launch.bench_gvae --loader-workers 0 1 --steps 400 --data data/calorimeter/top.h5

Each configuration is one real single-process run of ``python -m distributed.train gvae``
(evaluation off); the table comes from its per-step timing lines after ``--warmup`` steps:
step time, graphs/s and the shares of the step spent waiting for data and communicating.
``cache`` (the default) builds every event's graph once, before the first step, so that a batch
is collation only; ``no cache`` (the reference, measured in the same invocation) builds each
batch's kNN graphs again in every step. With ``--loader-workers 0`` the batch is collated in
the training process: by a thread one batch ahead when the rank has a spare core, else inside
the step, where it shows as data wait. The last line is the ratio of the throughputs.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from distributed.config import HelpFormatter
from launch.environment import horovod_env
from launch.timing import read_timing, summarise_timing

log = logging.getLogger("launch.bench_gvae")


def run_once(
    data: Path,
    batch_size: int,
    workers: int,
    cache: bool,
    steps: int,
    threads: int,
    out: Path,
    extra: list[str],
) -> None:
    cmd = [
        sys.executable, "-m", "distributed.train", "gvae", "--data", str(data),
        "--steps", str(steps), "--batch-size", str(batch_size), "--loader-workers", str(workers),
        "--threads-per-rank", str(threads), "--no-evaluate", "--out", str(out),
        "--cache" if cache else "--no-cache", *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=horovod_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.bench_gvae",
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- go to distributed.train (e.g. -- --eval-events 100).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data/calorimeter/top.h5"), help="CMS E2E events"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="events per step")
    parser.add_argument(
        "--loader-workers", type=int, nargs="+", default=[0], help="one run per value"
    )
    parser.add_argument("--steps", type=int, default=300, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="steps discarded per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.data.is_file():
        print(
            f"launch.bench_gvae: error: {args.data}: no such file (run `make data`)",
            file=sys.stderr,
        )
        return 2
    rows = []
    configs = [(w, cache) for w in args.loader_workers for cache in (True, False)]
    with tempfile.TemporaryDirectory() as tmp:
        for workers, cache in tqdm(configs, desc="runs", unit="run"):
            out = Path(tmp) / f"w{workers}-{cache}"
            run_once(
                args.data, args.batch_size, workers, cache, args.steps, args.threads, out,
                args.train_args,
            )  # fmt: skip
            summary = summarise_timing(
                read_timing(out / "timing.jsonl", args.warmup), args.batch_size
            )
            rows.append(
                {"loader_workers": workers, "graphs": "cache" if cache else "no cache", **summary}
            )
    table = pd.DataFrame(rows)
    throughput = table.set_index(["loader_workers", "graphs"]).samples_per_s
    shown = ["loader_workers", "graphs", "steps", "step_ms", "samples_per_s"]
    shown += ["data_wait_share", "communication_share"]
    log.info(
        "GVAE training, 1 process, %d thread(s), batch %d, %d steps after %d warm-up\n%s",
        args.threads,
        args.batch_size,
        args.steps - args.warmup,
        args.warmup,
        table[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}"),
    )
    for workers in args.loader_workers:
        ratio = throughput[workers, "cache"] / throughput[workers, "no cache"]
        log.info("%d loader worker(s): cache / no cache = %.2fx", workers, ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
