"""Entry point of every training run: ``python -m distributed.train MODEL [options]``.

One process, Horovod, torchrun, a cluster::

    python -m distributed.train gvae --steps 200
    horovodrun -np 4 -H localhost:4 python -m distributed.train gvae
    mpirun -np 4 python -m distributed.train gvae          # Open MPI 4 directly
    torchrun --nproc-per-node 4 -m distributed.train gvae   # torch.distributed (DDP)
    horovodrun -np 2 --min-np 1 --max-np 2 --network-interface lo \\
        --host-discovery-script launch/discover_hosts.sh \\
        python -m distributed.train gvae --elastic --out runs/elastic   # survives a lost worker
    python -m distributed.train gvae --help                  # every option of that model

MODELs are the packages registered under the ``lhc_graph_gen.models`` entry points
(``pyproject.toml``): ``gvae`` (graph VAE on calorimeter hits) and ``mpgan`` (message-passing
GAN on JetNet-layout jets). Each package's ``spec`` module says what the trainer needs
(``gvae/spec.py``); a run imports only its own model. The engine follows the launcher
(``--engine`` overrides it): torchrun → torch.distributed, horovodrun/mpirun → Horovod. The
health check of a new cluster is ``python -m distributed.check``.

Every run writes a run directory (``--out``, default ``runs/<UTC time>-<MODEL>``): at the start
``config.json`` (every resolved option, the world, and one entry per resume) and ``train.log``,
then ``metrics.csv``, ``timing.jsonl`` (per-step timing), ``checkpoint.pt``, ``evaluation.json``
and the model's report. Rank 0 writes, the others compute. A run directory that holds a
checkpoint is resumed (``--resume auto``, the default): so a run restarted by ``torchrun
--max-restarts`` continues where its last checkpoint left it; a resume with other model options
is refused before anything in the directory changes, and so is a second run in a directory a
live run writes (``run.lock``, :mod:`distributed.rundir`).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import psutil

from distributed.config import (
    HelpFormatter,
    add_dataclass_arguments,
    check_options,
    dataclass_from_args,
    read_config_file,
)
from distributed.engine import BACKENDS, Engine
from distributed.loop import train
from distributed.options import TrainOptions, batch_per_rank
from distributed.provenance import code_version, resume_note
from distributed.rundir import claim_run_dir
from distributed.runtime import init_rank, leave_world, reset_logging, setup_logging
from storage.files import atomic_write, read_checkpoint

log = logging.getLogger("distributed.train")
T = TypeVar("T")

ENTRY_POINTS = "lhc_graph_gen.models"
# The write errors that end a run in one line, and what to do (the last checkpoint is intact).
_AGAIN = "run the same command again: it resumes from the last checkpoint"
WRITE_ERRORS = {
    errno.ENOSPC: f"free some and {_AGAIN}",
    errno.EDQUOT: f"free some (quota) and {_AGAIN}",
    errno.EROFS: f"give --out a writable directory, or remount it and {_AGAIN}",
    errno.EACCES: f"give --out a directory you may write, or fix its permissions and {_AGAIN}",
    errno.EPERM: f"give --out a directory you may write, or fix its permissions and {_AGAIN}",
}


@dataclass(frozen=True)
class ModelSpec:
    """What a model package's ``spec`` module gives the trainer (see ``gvae/spec.py``)."""

    name: str
    help: str  # one line
    options: tuple[tuple[str, type], ...]  # option groups: (title, dataclass)
    task: type  # task(*options, device=...) -> Task
    defaults: dict  # the model's own defaults of any option (the training group's included)
    presets: dict  # --preset NAME -> option values, or a function of the options -> values
    preset_help: str  # what the presets are, for --help
    resumable: frozenset  # options of the model's groups a resumed run may change
    # options -> defaults that follow other options' values (MPGAN: a generator × discriminator
    # row's published procedure); below a preset, --config and flags
    dependent_defaults: Callable[[dict], dict] | None = None
    # what the parameters compute: a change of it refuses resumes (distributed/provenance.py)
    model_version: int = 1

    @classmethod
    def from_module(cls, name: str, module: ModuleType) -> ModelSpec:
        return cls(
            name, module.HELP, tuple(module.OPTIONS), module.TASK, dict(module.DEFAULTS),
            dict(getattr(module, "PRESETS", {})), getattr(module, "PRESET_HELP", ""),
            frozenset(getattr(module, "RESUMABLE", ())),
            getattr(module, "DEPENDENT_DEFAULTS", None), getattr(module, "MODEL_VERSION", 1),
        )  # fmt: skip

    def preset(self, name: str, options: dict) -> dict:
        """The values of preset ``name`` for these ``options`` (a preset may depend on them)."""
        preset = self.presets[name]
        return preset(options) if callable(preset) else dict(preset)


def model_names() -> list[str]:
    """The registered models (entry points of ``lhc_graph_gen.models``), without importing them
    (``python -m distributed.train --models`` prints them, one per line, for scripts)."""
    return sorted(e.name for e in entry_points(group=ENTRY_POINTS))


def load_spec(name: str) -> ModelSpec:
    """Import model ``name``'s spec module (and so its package, nothing else)."""
    (entry,) = [e for e in entry_points(group=ENTRY_POINTS) if e.name == name]
    return ModelSpec.from_module(name, importlib.import_module(entry.value))


def model_parser(spec: ModelSpec, defaults: dict | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m distributed.train MODEL``: run, the model's groups, training;
    ``defaults`` (from ``--preset`` and ``--config``) replace the model's own."""
    parser = argparse.ArgumentParser(
        prog=f"python -m distributed.train {spec.name}",
        description=f"{spec.help}. Options per group, with their defaults.",
        epilog="Launch under horovodrun, mpirun or torchrun for several ranks; see README.md.",
        formatter_class=HelpFormatter,
    )
    run = parser.add_argument_group("run", "where the run goes and how this process runs")
    run.add_argument(
        "--out", type=Path, default=None, help="run directory (default: runs/<UTC time>-MODEL)"
    )
    add_process_arguments(run)
    run.add_argument(
        "--config", type=Path, default=None, help="TOML or YAML file of options; flags win"
    )
    if spec.presets:
        run.add_argument(
            "--preset",
            choices=sorted(spec.presets),
            default=None,
            help=f"{spec.preset_help or 'named sets of option values'}; --config and flags win",
        )
    run.add_argument(
        "--resume",
        nargs="?",
        const="always",
        default="auto",
        choices=["auto", "always", "never"],
        help="continue the run in --out from its checkpoint.pt: auto (the default) when there "
        "is one, always (a bare --resume; an error without one), never (start over); raise "
        "--steps/--epochs to train further",
    )
    for title, options in (*spec.options, ("training", TrainOptions)):
        add_dataclass_arguments(parser, options, title)
    parser.set_defaults(**spec.defaults)
    parser.set_defaults(**(defaults or {}))
    return parser


def add_process_arguments(group: argparse._ArgumentGroup) -> None:
    """How this process runs: threads, seed, engine (also ``python -m distributed.check``)."""
    group.add_argument(
        "--threads-per-rank",
        type=int,
        default=1,
        help="torch CPU threads per rank; 0 = cores // ranks on the host",
    )
    group.add_argument("--seed", type=int, default=0, help="base seed; rank r uses seed + r")
    group.add_argument(
        "--engine",
        choices=BACKENDS,
        default="auto",
        help="auto = torch.distributed under torchrun, Horovod under horovodrun/mpirun (and for "
        "one process when Horovod is installed)",
    )
    group.add_argument(  # the name until 0.1: "backend" is Gloo/NCCL/MPI to everyone else
        "--backend", choices=BACKENDS, default=None, dest="old_backend", help=argparse.SUPPRESS
    )


def engine_choice(args: argparse.Namespace) -> str:
    """``--engine``, or the deprecated ``--backend`` with a warning."""
    if args.old_backend is not None:
        print("warning: --backend is deprecated, use --engine", file=sys.stderr)
        return args.old_backend
    return args.engine


def parse(argv: list[str]) -> tuple[ModelSpec, argparse.Namespace]:
    """The model of ``argv[0]`` and its options: its defaults, then the defaults that follow
    other options (``DEPENDENT_DEFAULTS``), then a ``--preset``'s values, then a ``--config``
    file's, then the flags; each value checked as its flag would be (a misspelt option or a
    value its flag rejects is a ``ValueError``, the model's own defaults included)."""
    names = model_names()
    if argv == ["--models"]:  # for scripts (launch/slurm): the registered models, nothing else
        print("\n".join(names))
        raise SystemExit(0)
    if not argv or argv[0] not in names:
        models = "\n".join(f"  {n:<8}{load_spec(n).help}" for n in names)  # help or a typo
        top = argparse.ArgumentParser(
            prog="python -m distributed.train",
            description=f"{__doc__.splitlines()[0]}\n\nmodels:\n{models}",
            epilog="python -m distributed.train MODEL --help: the options of a model.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        top.add_argument("model", choices=names, metavar="MODEL", help="one of the models above")
        top.parse_args(argv[:1])  # --help, or an error naming the models; both exit
    spec = load_spec(argv[0])
    actions = {
        a.dest: a
        for a in model_parser(spec)._actions
        if a.dest not in ("help", "config", "preset", "old_backend")
    }
    check_options(f"{spec.name} spec DEFAULTS", spec.defaults, actions)
    args = model_parser(spec).parse_args(argv[1:])
    config = {} if args.config is None else read_config_file(args.config, actions)
    # Dependent defaults and presets read options that a preset or the file may set: resolved
    # again on the options they gave until nothing changes (twice at most in practice).
    for _ in range(3):
        values = dict(vars(args))
        defaults = dependent_defaults(spec, values, actions)
        if getattr(args, "preset", None):
            preset = spec.preset(args.preset, values)
            defaults.update(check_options(f"--preset {args.preset}", preset, actions))
        defaults.update(config)
        args = model_parser(spec, defaults).parse_args(argv[1:])
        if vars(args) == values:
            break
    args.model = spec.name
    return spec, args


def dependent_defaults(spec: ModelSpec, values: dict, actions: dict) -> dict:
    """The model's defaults that follow ``values`` (``DEPENDENT_DEFAULTS``), checked."""
    if spec.dependent_defaults is None:
        return {}
    return check_options(f"{spec.name} defaults", spec.dependent_defaults(values), actions)


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


def run(spec: ModelSpec, args: argparse.Namespace) -> int:
    """Check every option, join the world, build the task, train, write the results."""
    options = [dataclass_from_args(cls, args) for _, cls in spec.options]
    training = dataclass_from_args(TrainOptions, args)
    if training.elastic and args.out is None:
        raise ValueError("--elastic needs --out RUN_DIR (workers that join later must find it)")
    engine, info = init_rank(engine_choice(args), args.threads_per_rank, args.seed)
    if training.elastic and engine.name != "horovod":
        raise ValueError("--elastic needs Horovod (horovodrun); torchrun restarts instead")
    batch_per_rank(training, info.size)  # a global batch that does not split: before any work

    # Rank 0 names the run directory; everyone uses its choice (elastic: --out, no collective).
    out = Path(args.out or engine.broadcast_object(str(default_run_dir(args.model))))
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
        "code": code_version(spec.model_version),
        **{title: jsonable(o) for (title, _), o in zip(spec.options, options, strict=True)},
        "training": jsonable(training),
    }
    checkpoint = out / "checkpoint.pt"
    if args.resume == "always" and not checkpoint.is_file():
        raise FileNotFoundError(f"--resume needs --out RUN_DIR with a checkpoint.pt ({out})")
    resume = args.resume != "never" and checkpoint.is_file()
    # refused before anything in the run directory changes; other code is said and recorded
    code_change = check_resumable(checkpoint, record, spec) if resume else ""
    # Rank 0 holds run.lock until run() returns: a second run in a directory in use is refused
    # at once, a new directory is locked when it is made.
    exists = info.is_root and out.is_dir()
    lock = on_every_rank(engine, training.elastic, lambda: claim_run_dir(out) if exists else None)
    setup_logging(engine)  # stderr until the run directory exists (the task logs its set-up)
    task = on_every_rank(engine, training.elastic, lambda: spec.task(*options, device=info.device))
    record["selection_metric"] = task.selection_metric  # what best.pt and studies select by
    if info.is_root:
        lock = lock or claim_run_dir(out)
        write_config(out, record, resumed_at=checkpoint if resume else None, note=code_change)
    setup_logging(engine, out / "train.log")
    log.info("%s on %d rank(s) (%s), run directory %s", args.model, info.size, info.engine, out)
    if spec.dependent_defaults is not None:
        log_defaults(args, "defaults for these options", spec.dependent_defaults(vars(args)))
    if getattr(args, "preset", None):
        log_defaults(args, f"--preset {args.preset}", spec.preset(args.preset, vars(args)))
    if resume:
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        log.info(
            "resuming from %s%s",
            checkpoint,
            f" (torchrun restart {restart})" if restart != "0" else "",
        )
        if code_change:
            log.warning(code_change)
    result = train(task, training, engine, info, out, args.seed, record, resume=resume)
    if engine.rank == 0:  # (after an elastic reset, maybe another process than at the start)
        atomic_write(out / "evaluation.json", json.dumps(result, indent=2) + "\n")
        log.info("%s: done; outputs in %s/", args.model, out)
    if lock is not None:
        lock.close()
    leave_world()  # (a process may run again: in-process tests)
    return 0


def check_resumable(checkpoint: Path, record: dict, spec: ModelSpec) -> str:
    """Refuse to resume ``checkpoint`` with options of the model's groups that differ from the
    ones it was trained with, other than ``spec.resumable`` (the others set the parameters'
    shapes, the data the checkpoint's position counts in, or the model being trained), or with
    another definition of the model. Returns the line saying the code changed ("" if not).

    Raises:
        ValueError: a damaged checkpoint, one line naming each option that differs, or another
            model definition (:func:`storage.files.read_checkpoint`).
    """
    saved = read_checkpoint(checkpoint, spec.model_version).get("config", {})
    changed = [
        f"--{name.replace('_', '-')} {saved[title][name]!r} → {value!r}"
        for title, _ in spec.options
        for name, value in record[title].items()
        if name not in spec.resumable
        and title in saved
        and name in saved[title]
        and saved[title][name] != value
    ]
    if changed:
        raise ValueError(
            f"{checkpoint} was trained with other options ({'; '.join(changed)}): resume with "
            "the run's own, or start another run with --out NEW_DIR (or --resume never)"
        )
    return resume_note(saved.get("code"), record["code"], checkpoint)


def log_defaults(args: argparse.Namespace, origin: str, values: dict) -> None:
    """One line: what ``origin`` (a preset, the dependent defaults) set, and which of its values
    flags, ``--config`` or a preset replaced."""
    if not values:
        return
    kept = {k: v for k, v in values.items() if getattr(args, k) == v}
    replaced = {k: getattr(args, k) for k in values if k not in kept}
    log.info(
        "%s set %s%s",
        origin,
        ", ".join(f"{k}={v}" for k, v in kept.items()),
        "; replaced by flags, --config or a preset: "
        + ", ".join(f"{k}={v}" for k, v in replaced.items())
        if replaced
        else "",
    )


def write_config(out: Path, record: dict, resumed_at: Path | None, note: str = "") -> None:
    """``config.json`` at the start of a run; a resume keeps the history and appends to it
    (with the code that resumed, and ``note`` when it is not the code that wrote the checkpoint)."""
    path = out / "config.json"
    resumes = []
    if resumed_at is not None and path.is_file():
        resumes = json.loads(path.read_text()).get("resumes", [])
        step = read_checkpoint(resumed_at)["step"]
        resumes.append(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "from_step": step,
                "world": record["world"],
                "argv": record["argv"],
                "code": record["code"],
                **({"code_change": note} if note else {}),
            }
        )
    atomic_write(path, json.dumps({**record, "resumes": resumes}, indent=2) + "\n")


def on_every_rank(engine: Engine, elastic: bool, make: Callable[[], T]) -> T:
    """``make()`` on every rank; if it fails on any (missing data, a run directory in use), all
    exit together with that rank's line (elastic: each on its own, as workers may join later).

    Raises:
        ValueError: the first failing rank's message (``ValueError`` or ``FileNotFoundError``).
    """
    error, result = "", None
    try:
        result = make()
    except (ValueError, FileNotFoundError) as err:
        error = str(err)
    errors = [error] if elastic else engine.allgather_object(error)
    first = next((e for e in errors if e), "")
    if first:
        raise ValueError(first)
    return result


def exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (Slurm's time limit, ``kill``, mpirun passing one on) unwinds like Ctrl-C, so that
    the DataLoader stops its worker processes instead of leaving them running."""
    raise SystemExit(128 + signum)


def in_data_loader(err: BaseException) -> bool:
    """Whether ``err`` was raised inside PyTorch's DataLoader (a worker that died while handing
    over a batch resets its connection: ``ConnectionResetError``)."""
    tb = err.__traceback__
    while tb is not None:
        if "torch/utils/data/" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


def loader_death(message: str) -> str:
    """One line for PyTorch's "DataLoader worker (pid(s) …) exited unexpectedly" / "… (pid …)
    is killed by signal: …": which worker died, how if PyTorch knows, and what to do."""
    found = re.search(r"\((pid\(s\) [\d, ]+|pid \d+)\)", message)
    pids = f" ({found[1]})" if found else ""
    how = message.split("signal:", 1)[1].strip().rstrip(".") if "signal:" in message else ""
    cause = f"killed by signal {how}" if how else "died"
    return (
        f"a data-loader worker process{pids} {cause} — most often the out-of-memory killer "
        "(`dmesg` says); the last checkpoint is intact: run again with --loader-workers 0 "
        "(batches made in the training process) or with more memory"
    )


def main(argv: list[str] | None = None) -> int:
    # Only for this call: a caller's forked processes (multiprocessing.Pool) must still die on
    # the SIGTERM that Pool.terminate() sends them.
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        spec, args = parse(sys.argv[1:] if argv is None else list(argv))
        return run(spec, args)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"distributed.train: error: {err}", file=sys.stderr)
        leave_world()
        return 2
    except (RuntimeError, ConnectionResetError) as err:  # a data-loader worker killed
        if isinstance(err.__context__, SystemExit):  # SIGTERM inside torch.save's zip writer
            return err.__context__.code  # (the file was a temporary one: nothing is damaged)
        if not (str(err).startswith("DataLoader worker") or in_data_loader(err)):
            raise
        print(f"distributed.train: error: {loader_death(str(err))}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a read-only or forbidden run directory: one line
        if err.errno not in WRITE_ERRORS:
            raise
        where = err.filename or "the run directory"
        what = "no space left on device" if err.errno == errno.EDQUOT else os.strerror(err.errno)
        print(
            f"distributed.train: error: {where}: {what.lower()}; {WRITE_ERRORS[err.errno]}",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        reset_logging()


if __name__ == "__main__":
    sys.exit(main())
