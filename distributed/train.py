"""Entry point of every distributed run: ``python -m distributed.train MODEL [options]``.

Single process, on one machine, on a cluster::

    python -m distributed.train gvae --steps 200
    horovodrun -np 4 -H localhost:4 python -m distributed.train gvae
    horovodrun -np 8 -H host1:4,host2:4 python -m distributed.train gvae
    mpirun -np 4 python -m distributed.train gvae          # Open MPI 4 directly
    python -m distributed.train gvae --help                  # every option of that model

MODELs: ``gvae`` (graph VAE on calorimeter hits, ``gvae/``), ``mpgan`` (message-passing GAN on
JetNet-layout jets, ``mpgan/``) and ``check`` (the Horovod health
check, ``distributed/check.py``: allreduce/broadcast round-trip and DistributedOptimizer
averaging on the live world; exits non-zero if anything disagrees).

Every run writes a run directory (``--out``, default ``runs/<UTC time>-<MODEL>``): ``config.json``
and ``train.log``; for models also ``metrics.csv``, ``timing.jsonl`` (per-step timing),
``checkpoint.pt``, ``evaluation.json`` and the model's report. Rank 0 writes, the others compute.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import horovod.torch as hvd

from distributed.check import CheckConfig, run_check
from distributed.config import add_dataclass_arguments, dataclass_from_args, read_config_file
from distributed.loop import TrainConfig, train
from distributed.runtime import init_horovod, setup_logging
from gvae.hits import HitGraphConfig
from gvae.loss import LossWeights
from gvae.model import GVAEConfig
from gvae.task import GVAEData, GVAETask
from mpgan.model import MPGANConfig
from mpgan.task import MPGANData, MPGANTask

log = logging.getLogger("distributed.train")


@dataclass(frozen=True)
class ModelSpec:
    """A trainable model: its config dataclasses and how to build its task from them."""

    help: str
    configs: tuple[type, ...]
    build: Callable[..., object] | None  # build(*configs, device=...) -> Task; None = check
    defaults: dict = dataclasses.field(default_factory=dict)  # the model's own loop defaults


MODELS = {
    "gvae": ModelSpec(
        "graph VAE on tracker/ECAL/HCAL hits",
        (GVAEData, HitGraphConfig, GVAEConfig, LossWeights),
        GVAETask,
        # About 7 minutes on one CPU core with the default data. The cosine decay settles the
        # model: at a constant lr the loss still jumps late in training (median EMD 31 or 113
        # GeV in two runs, depending on where the last step lands).
        defaults={"epochs": 30, "lr_decay": "cosine"},
    ),
    "mpgan": ModelSpec(
        "message-passing GAN for jets (JetNet layout)",
        (MPGANData, MPGANConfig),
        MPGANTask,
        defaults={"batch_size": 256, "epochs": 5},
    ),
    "check": ModelSpec("Horovod health check (no model)", (CheckConfig,), None),
}


def build_parser(config_defaults: dict | None = None) -> argparse.ArgumentParser:
    """The CLI; ``config_defaults`` (from ``--config``) replace the defaults of every model."""
    parser = argparse.ArgumentParser(
        prog="python -m distributed.train",
        description=__doc__.split("\n\n")[0],
        epilog="Launch under horovodrun/mpirun for several ranks; see README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, spec in MODELS.items():
        sub = models.add_parser(
            name,
            help=spec.help,
            description=f"{spec.help}. Options per group; defaults in brackets.",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        sub.add_argument(
            "--out",
            type=Path,
            default=None,
            help="run directory (default: runs/<UTC time>-<MODEL>)",
        )
        sub.add_argument(
            "--threads-per-rank",
            type=int,
            default=1,
            help="torch CPU threads per rank; 0 = cores // ranks on the host",
        )
        sub.add_argument("--seed", type=int, default=0, help="base seed; rank r uses seed + r")
        sub.add_argument(
            "--config",
            type=Path,
            default=None,
            help="TOML or YAML file of options; flags given here override it",
        )
        if spec.build:
            sub.add_argument(
                "--resume",
                action="store_true",
                help="continue the run in --out from its checkpoint.pt (raise --steps/--epochs "
                "to train further)",
            )
        for config_cls in (*spec.configs, *((TrainConfig,) if spec.build else ())):
            add_dataclass_arguments(sub, config_cls)
        sub.set_defaults(**spec.defaults)
        sub.set_defaults(**(config_defaults or {}))
    return parser


def jsonable(config: object) -> dict:
    return {
        k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()
    }


def run(args: argparse.Namespace) -> int:
    spec = MODELS[args.model]
    configs = [dataclass_from_args(cls, args) for cls in spec.configs]
    loop_cfg = dataclass_from_args(TrainConfig, args) if spec.build else None
    info = init_horovod(threads_per_rank=args.threads_per_rank, seed=args.seed)

    # Rank 0 names the run directory; everyone uses its choice.
    out = args.out or Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{args.model}"
    out = Path(hvd.broadcast_object(str(out), root_rank=0, name="run_dir"))
    record = {
        "model": args.model,
        "world": {"size": info.size, "controller": info.controller, "threads": info.threads},
        "seed": args.seed,
        **{type(c).__name__: jsonable(c) for c in (*configs, *([loop_cfg] if loop_cfg else []))},
    }

    if spec.build is None:  # the health check
        if info.is_root:
            out.mkdir(parents=True, exist_ok=True)
        setup_logging(info, out / "train.log" if info.is_root else None)
        result = run_check(info, configs[0], seed=args.seed)
        ok = result["ok"]
    else:
        if args.resume and not (args.out and (args.out / "checkpoint.pt").is_file()):
            raise FileNotFoundError(f"--resume needs --out RUN_DIR with a checkpoint.pt ({out})")
        task = build_task(spec, configs, info.device)
        if info.is_root:
            out.mkdir(parents=True, exist_ok=True)
        setup_logging(info, out / "train.log" if info.is_root else None)
        log.info("%s on %d rank(s), run directory %s", args.model, info.size, out)
        result = train(task, loop_cfg, info, out, args.seed, record, resume=args.resume)
        ok = True
    if info.is_root:
        (out / "config.json").write_text(json.dumps(record, indent=2) + "\n")
        name = "check.json" if spec.build is None else "evaluation.json"
        (out / name).write_text(json.dumps(result, indent=2) + "\n")
        log.info("%s: %s; outputs in %s/", args.model, "done" if ok else "FAILED", out)
    return 0 if ok else 1


def build_task(spec: ModelSpec, configs: list, device: str):
    """Build the task on every rank; if any rank fails (e.g. missing data), all exit together."""
    error = ""
    task = None
    try:
        task = spec.build(*configs, device=device)
    except (ValueError, FileNotFoundError) as err:
        error = str(err)
    errors = hvd.allgather_object(error, name="build_errors")
    first = next((e for e in errors if e), "")
    if first:
        raise ValueError(first)
    return task


def exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (Slurm's time limit, ``kill``, mpirun passing one on) unwinds like Ctrl-C, so that
    the DataLoader stops its worker processes instead of leaving them running."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    args = build_parser().parse_args(argv)
    try:
        if args.config is not None:  # file values become defaults; explicit flags still win
            valid = set(vars(args)) - {"model", "config"}
            args = build_parser(read_config_file(args.config, valid)).parse_args(argv)
        return run(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"distributed.train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
