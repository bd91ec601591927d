"""Entry point of every training run: ``python -m distributed.train MODEL [options]``.

One process, Horovod, torchrun, a cluster::

    python -m distributed.train gvae --steps 200
    horovodrun -np 4 -H localhost:4 python -m distributed.train gvae
    horovodrun -np 8 -H host1:4,host2:4 python -m distributed.train gvae
    mpirun -np 4 python -m distributed.train gvae          # Open MPI 4 directly
    torchrun --nproc-per-node 4 -m distributed.train gvae   # torch.distributed (DDP)
    horovodrun -np 2 --min-np 1 --max-np 2 --host-discovery-script launch/discover_hosts.sh \\
        python -m distributed.train gvae --elastic --out runs/elastic   # survives a lost worker
    python -m distributed.train gvae --help                  # every option of that model

MODELs: ``gvae`` (graph VAE on calorimeter hits, ``gvae/``), ``mpgan`` (message-passing GAN on
JetNet-layout jets, ``mpgan/``) and ``check`` (the health check, ``distributed/check.py``:
collectives and gradient averaging on the live world; exits non-zero if anything disagrees).
The engine follows the launcher (``--backend`` overrides it): torchrun → torch.distributed,
horovodrun/mpirun → Horovod.

Every run writes a run directory (``--out``, default ``runs/<UTC time>-<MODEL>``): at the start
``config.json`` (every resolved option, the world, and one entry per resume) and ``train.log``;
for models also ``metrics.csv``, ``timing.jsonl`` (per-step timing), ``checkpoint.pt``,
``evaluation.json`` and the model's report. Rank 0 writes, the others compute. A run directory
that holds a checkpoint is resumed (``--resume auto``, the default): so a run restarted by
``torchrun --max-restarts`` continues where its last checkpoint left it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch

from distributed.check import CheckConfig, run_check
from distributed.config import (
    HelpFormatter,
    add_dataclass_arguments,
    check_options,
    dataclass_from_args,
    read_config_file,
)
from distributed.engine import BACKENDS, Engine
from distributed.loop import TrainConfig, train
from distributed.runtime import init_rank, setup_logging
from distributed.task import Task
from gvae.hits import HitGraphConfig
from gvae.loss import LossWeights
from gvae.model import GVAEConfig
from gvae.task import GVAEData, GVAETask
from mpgan.model import MPGANConfig
from mpgan.presets import PRESETS as MPGAN_PRESETS
from mpgan.task import MPGANData, MPGANTask

log = logging.getLogger("distributed.train")


@dataclass(frozen=True)
class ModelSpec:
    """A trainable model: its option groups (title, config dataclass) and how to build its task."""

    help: str
    configs: tuple[tuple[str, type], ...]
    build: Callable[..., object] | None  # build(*configs, device=...) -> Task; None = check
    defaults: dict = dataclasses.field(default_factory=dict)  # the model's own loop defaults
    presets: dict = dataclasses.field(default_factory=dict)  # --preset NAME -> option values


MODELS = {
    "gvae": ModelSpec(
        "graph VAE on tracker/ECAL/HCAL hits",
        (
            ("data", GVAEData),
            ("graphs", HitGraphConfig),
            ("model", GVAEConfig),
            ("loss", LossWeights),
        ),
        GVAETask,
        # About 7 minutes on one CPU core with the default data. The cosine decay settles the
        # model: at a constant lr the loss still jumps late in training (median EMD 31 or 113
        # GeV in two runs, depending on where the last step lands). Event graphs are cached, so
        # batching in the step costs less than handing batches over from a loader process
        # (launch/bench_gvae.py): no loader workers.
        defaults={"epochs": 30, "lr_decay": "cosine", "loader_workers": 0},
    ),
    "mpgan": ModelSpec(
        "message-passing GAN for jets (JetNet layout)",
        (("data", MPGANData), ("model", MPGANConfig)),
        MPGANTask,
        # --amp auto: bf16 where native (7x the published formulation on an AVX512-BF16 CPU,
        # launch/bench_mpgan.py), fp32 elsewhere (bf16 is emulated on AVX2-only CPUs).
        defaults={"global_batch_size": 256, "epochs": 5},
        presets=MPGAN_PRESETS,
    ),
    "check": ModelSpec("health check of the engine (no model)", (("check", CheckConfig),), None),
}


def build_parser(
    config_defaults: dict | None = None, model: str | None = None
) -> argparse.ArgumentParser:
    """The CLI; ``config_defaults`` (from ``--preset`` and ``--config``) replace the defaults of
    ``model`` (of every model if None)."""
    parser = argparse.ArgumentParser(
        prog="python -m distributed.train",
        description=__doc__.split("\n\n")[0],
        epilog="Launch under horovodrun, mpirun or torchrun for several ranks; see README.md.",
        formatter_class=HelpFormatter,
    )
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    parser.model_parsers = {}  # MODEL -> its subparser (for --config validation)
    for name, spec in MODELS.items():
        sub = parser.model_parsers[name] = models.add_parser(
            name,
            help=spec.help,
            description=f"{spec.help}. Options per group, with their defaults.",
            formatter_class=HelpFormatter,
        )
        run = sub.add_argument_group("run", "where the run goes and how this process runs")
        run.add_argument(
            "--out", type=Path, default=None, help="run directory (default: runs/<UTC time>-MODEL)"
        )
        run.add_argument(
            "--threads-per-rank",
            type=int,
            default=1,
            help="torch CPU threads per rank; 0 = cores // ranks on the host",
        )
        run.add_argument("--seed", type=int, default=0, help="base seed; rank r uses seed + r")
        run.add_argument(
            "--backend",
            choices=BACKENDS,
            default="auto",
            help="engine: auto = torch under torchrun, horovod under horovodrun/mpirun (and for "
            "one process when Horovod is installed)",
        )
        run.add_argument(
            "--config", type=Path, default=None, help="TOML or YAML file of options; flags win"
        )
        if spec.presets:
            run.add_argument(
                "--preset",
                choices=sorted(spec.presets),
                default=None,
                help="paper: the published runs' settings (fp32, global batch 256, 3000 epochs, "
                "70/30 split, evaluation every 5 epochs on 50 000 jets, best by W1M, per-class "
                "maxima; mpgan/presets.py); --config and flags win",
            )
        if spec.build:
            run.add_argument(
                "--resume",
                nargs="?",
                const="always",
                default="auto",
                choices=["auto", "always", "never"],
                help="continue the run in --out from its checkpoint.pt: auto (the default) when "
                "there is one, always (a bare --resume; an error without one), never (start "
                "over); raise --steps/--epochs to train further",
            )
        groups = (*spec.configs, *((("training", TrainConfig),) if spec.build else ()))
        for title, config_cls in groups:
            add_dataclass_arguments(sub, config_cls, title)
        sub.set_defaults(**spec.defaults)
        if model in (None, name):
            sub.set_defaults(**(config_defaults or {}))
    return parser


def jsonable(config: object) -> dict:
    return {
        k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()
    }


def default_run_dir(model: str) -> Path:
    """``runs/<UTC time>-<model>``, the time being the launcher's start under torchrun, so that
    the workers it restarts after a failure find the same directory (and its checkpoint)."""
    started = time.time()
    if "TORCHELASTIC_RUN_ID" in os.environ:
        started = psutil.Process(os.getppid()).create_time()
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}-{model}"


def run(args: argparse.Namespace) -> int:
    spec = MODELS[args.model]
    configs = [dataclass_from_args(cls, args) for _, cls in spec.configs]
    loop_cfg = dataclass_from_args(TrainConfig, args) if spec.build else None
    if loop_cfg and loop_cfg.elastic and args.out is None:
        raise ValueError("--elastic needs --out RUN_DIR (workers that join later must find it)")
    engine, info = init_rank(args.backend, args.threads_per_rank, args.seed)
    elastic = bool(loop_cfg and loop_cfg.elastic)
    if elastic and engine.name != "horovod":
        raise ValueError("--elastic needs Horovod (horovodrun --gloo); torchrun restarts instead")

    # Rank 0 names the run directory; everyone uses its choice (elastic: --out, no collective).
    out = args.out or engine.broadcast_object(str(default_run_dir(args.model)))
    out = Path(out)
    record = {
        "task": args.model,  # ("model" is the architecture's option group)
        "argv": sys.argv[1:],
        "world": {
            "size": info.size,
            "engine": info.engine,
            "controller": info.controller,
            "threads": info.threads,
        },
        "seed": args.seed,
        **{title: jsonable(c) for (title, _), c in zip(spec.configs, configs, strict=True)},
        **({"training": jsonable(loop_cfg)} if loop_cfg else {}),
    }

    if spec.build is None:  # the health check
        if info.is_root:
            out.mkdir(parents=True, exist_ok=True)
            write_config(out, record, resumed_at=None)
        setup_logging(engine, out / "train.log")
        result = run_check(engine, info, configs[0], seed=args.seed)
        ok = result["ok"]
    else:
        checkpoint = out / "checkpoint.pt"
        if args.resume == "always" and not checkpoint.is_file():
            raise FileNotFoundError(f"--resume needs --out RUN_DIR with a checkpoint.pt ({out})")
        resume = args.resume != "never" and checkpoint.is_file()
        setup_logging(engine)  # stderr until the run directory exists (the task logs its set-up)
        task = build_task(spec, configs, info.device, engine, elastic)
        if info.is_root:
            out.mkdir(parents=True, exist_ok=True)
            write_config(out, record, resumed_at=checkpoint if resume else None)
        setup_logging(engine, out / "train.log")
        log.info("%s on %d rank(s) (%s), run directory %s", args.model, info.size, info.engine, out)
        if getattr(args, "preset", None):
            log_preset(args, spec.presets[args.preset])
        if resume:
            restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
            log.info(
                "resuming from %s%s",
                checkpoint,
                f" (torchrun restart {restart})" if restart != "0" else "",
            )
        result = train(task, loop_cfg, engine, info, out, args.seed, record, resume=resume)
        ok = True
    if engine.rank == 0:  # (after an elastic reset, maybe another process than at the start)
        name = "check.json" if spec.build is None else "evaluation.json"
        (out / name).write_text(json.dumps(result, indent=2) + "\n")
        status = ("PASSED" if ok else "FAILED") if spec.build is None else "done"
        log.info("%s: %s; outputs in %s/", args.model, status, out)
    return 0 if ok else 1


def log_preset(args: argparse.Namespace, preset: dict) -> None:
    """One line: what ``--preset`` set, and which of its values flags or ``--config`` replaced."""
    kept = {k: v for k, v in preset.items() if getattr(args, k) == v}
    replaced = {k: getattr(args, k) for k in preset if k not in kept}
    log.info(
        "--preset %s set %s%s",
        args.preset,
        ", ".join(f"{k}={v}" for k, v in kept.items()),
        "; replaced by flags or --config: " + ", ".join(f"{k}={v}" for k, v in replaced.items())
        if replaced
        else "",
    )


def write_config(out: Path, record: dict, resumed_at: Path | None) -> None:
    """``config.json`` at the start of a run; a resume keeps the history and appends to it."""
    path = out / "config.json"
    resumes = []
    if resumed_at is not None and path.is_file():
        resumes = json.loads(path.read_text()).get("resumes", [])
        step = torch.load(resumed_at, map_location="cpu", weights_only=False)["step"]
        resumes.append(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "from_step": step,
                "world": record["world"],
                "argv": record["argv"],
            }
        )
    path.write_text(json.dumps({**record, "resumes": resumes}, indent=2) + "\n")


def build_task(spec: ModelSpec, configs: list, device: str, engine: Engine, elastic: bool) -> Task:
    """Build the task on every rank; if any rank fails (e.g. missing data), all exit together
    (elastic: each on its own, as workers may join later)."""
    error = ""
    task = None
    try:
        task = spec.build(*configs, device=device)
    except (ValueError, FileNotFoundError) as err:
        error = str(err)
    errors = [error] if elastic else engine.allgather_object(error)
    first = next((e for e in errors if e), "")
    if first:
        raise ValueError(first)
    return task


def exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (Slurm's time limit, ``kill``, mpirun passing one on) unwinds like Ctrl-C, so that
    the DataLoader stops its worker processes instead of leaving them running."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    # Only for this call: a caller's forked processes (multiprocessing.Pool) must still die on
    # the SIGTERM that Pool.terminate() sends them.
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        args = build_parser().parse_args(argv)
        # A preset's values, then a config file's, become defaults; explicit flags still win.
        sub = build_parser().model_parsers[args.model]
        actions = {a.dest: a for a in sub._actions if a.dest not in ("help", "config", "preset")}
        defaults = {}
        if getattr(args, "preset", None):
            preset = MODELS[args.model].presets[args.preset]
            defaults.update(check_options(f"--preset {args.preset}", preset, actions))
        if args.config is not None:
            defaults.update(read_config_file(args.config, actions))
        if defaults:
            args = build_parser(defaults, args.model).parse_args(argv)
        return run(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"distributed.train: error: {err}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
