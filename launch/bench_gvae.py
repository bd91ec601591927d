"""GVAE training throughput benchmark: graphs/s and the share of step time spent waiting for data.

    python -m launch.bench_gvae                        # batch 32 and 64, 0 and 1 loader workers
    python -m launch.bench_gvae --batch-sizes 32 --steps 200 --data data/calorimeter/top.h5

Each configuration is one real single-process run of ``python -m distributed.train gvae``
(evaluation off); the table comes from its per-step timing lines after ``--warmup`` steps.
``loader workers 0`` builds the graphs inside the step, ``1`` in a background worker process
(the default of the training command): the difference is what on-the-fly batching saves.
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

from launch.environment import horovod_env
from launch.timing import read_timing, summarise_timing

log = logging.getLogger("launch.bench_gvae")


def run_once(
    data: Path, batch_size: int, workers: int, steps: int, threads: int, out: Path
) -> None:
    cmd = [
        sys.executable, "-m", "distributed.train", "gvae", "--data", str(data),
        "--steps", str(steps), "--batch-size", str(batch_size), "--loader-workers", str(workers),
        "--threads-per-rank", str(threads), "--no-evaluate", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=horovod_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.bench_gvae",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=Path("data/calorimeter/top.h5"))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=100, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="steps discarded per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.data.is_file():
        print(
            f"launch.bench_gvae: error: {args.data}: no such file (run `make data`)",
            file=sys.stderr,
        )
        return 2
    rows = []
    configs = [(b, w) for b in args.batch_sizes for w in args.loader_workers]
    with tempfile.TemporaryDirectory() as tmp:
        for batch_size, workers in tqdm(configs, desc="runs", unit="run"):
            out = Path(tmp) / f"b{batch_size}-w{workers}"
            run_once(args.data, batch_size, workers, args.steps, args.threads, out)
            summary = summarise_timing(read_timing(out / "timing.jsonl", args.warmup), batch_size)
            rows.append({"batch": batch_size, "loader_workers": workers, **summary})
    table = pd.DataFrame(rows)
    log.info(
        "GVAE training, 1 process, %d thread(s), %d steps after %d warm-up\n%s",
        args.threads,
        args.steps - args.warmup,
        args.warmup,
        table.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
