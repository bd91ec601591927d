"""Entry point of every distributed run: ``python -m distributed.train MODEL [options]``.

Single process, on one machine, on a cluster::

    python -m distributed.train check
    horovodrun -np 4 -H localhost:4 python -m distributed.train check
    horovodrun -np 8 -H host1:4,host2:4 python -m distributed.train check
    mpirun -np 4 python -m distributed.train check         # Open MPI 4 directly

MODEL ``check`` is the Horovod health check (``distributed/check.py``): it verifies the
allreduce/broadcast round-trip and DistributedOptimizer averaging on the live world and exits
non-zero if anything disagrees. The GVAE and MPGAN tasks plug in here as further MODELs.

Every run writes a run directory (``--out``, default ``runs/<UTC time>-<MODEL>``) with
``config.json``, ``train.log`` and the model's results; rank 0 writes, the others only compute.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import horovod.torch as hvd

from distributed.check import CheckConfig, run_check
from distributed.config import add_dataclass_arguments, dataclass_from_args
from distributed.runtime import init_horovod, setup_logging

log = logging.getLogger("distributed.train")

MODELS = {"check": CheckConfig}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m distributed.train",
        description=__doc__.split("\n\n")[0],
        epilog="Launch under horovodrun/mpirun for several ranks; see README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", choices=sorted(MODELS), help="what to train")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run directory (default: runs/<UTC time>-<MODEL>)",
    )
    parser.add_argument(
        "--threads-per-rank",
        type=int,
        default=1,
        help="torch CPU threads per rank; 0 = cores // ranks on the host",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed; rank r uses seed + r")
    for config_cls in MODELS.values():
        add_dataclass_arguments(parser, config_cls)
    return parser


def run(args: argparse.Namespace) -> int:
    config = dataclass_from_args(MODELS[args.model], args)
    info = init_horovod(threads_per_rank=args.threads_per_rank, seed=args.seed)

    # Rank 0 names the run directory; everyone uses its choice.
    out = args.out or Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{args.model}"
    out = Path(hvd.broadcast_object(str(out), root_rank=0, name="run_dir"))
    if info.is_root:
        out.mkdir(parents=True, exist_ok=True)
    setup_logging(info, out / "train.log" if info.is_root else None)
    log.info("%s on %d rank(s), run directory %s", args.model, info.size, out)

    result = run_check(info, config, seed=args.seed)

    if info.is_root:
        resolved = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        (out / "config.json").write_text(json.dumps(resolved, indent=2) + "\n")
        (out / f"{args.model}.json").write_text(json.dumps(result, indent=2) + "\n")
        log.info("%s: %s; outputs in %s/", args.model, "PASSED" if result["ok"] else "FAILED", out)
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"distributed.train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
