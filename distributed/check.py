"""Health check of the engine: collectives and gradient averaging, verified on the live world.

    python -m distributed.check                                  # one process
    horovodrun -np 4 -H localhost:4 python -m distributed.check
    torchrun --nproc-per-node 4 -m distributed.check

It runs on whatever world it was launched in (a Slurm allocation too): run it before spending
GPU hours. It prints ``check: PASSED`` or ``check: FAILED``, writes ``check.json`` (and
``config.json``, ``train.log``) into ``--out``, and exits 1 if anything disagrees.

1. Collectives: ``allreduce`` of (rank + 1) must give size(size+1)/2 (sum) and (size+1)/2
   (mean); a per-rank random vector broadcast from rank 0 must be identical everywhere.
2. Data-parallel training: a linear regression y = X·w* + ε in float64 is trained through the
   training loop's own update path (:class:`distributed.update.Updater`: Horovod's
   DistributedOptimizer or torch's DistributedDataParallel around SGD), each rank on its own
   shard of every global batch ([B·size, F] split into ``size`` blocks of B rows). Afterwards
   every rank must hold the same parameters, and they must equal a single-process replay with
   plain SGD on the full global batches from the same start (averaged shard gradients =
   full-batch gradient). The loss on the whole data set must fall.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from distributed.config import HelpFormatter, add_dataclass_arguments, dataclass_from_args
from distributed.engine import Engine
from distributed.runtime import RankInfo, init_rank, setup_logging
from distributed.update import Updater
from storage.files import atomic_write

log = logging.getLogger(__name__)


@dataclass
class CheckOptions:
    """Health check: collectives + data-parallel SGD on a linear regression."""

    steps: int = field(default=200, metadata={"help": "optimizer steps of the regression"})
    batch_size: int = field(default=64, metadata={"help": "rows per worker per step"})
    features: int = field(default=16, metadata={"help": "regression inputs F"})
    lr: float = field(default=0.05, metadata={"help": "SGD learning rate"})
    tolerance: float = field(
        default=1e-9, metadata={"help": "max |Δparameter| allowed vs the single-process replay"}
    )

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "features"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def collective_roundtrip(engine: Engine) -> dict:
    """Allreduce (sum, mean) and broadcast round-trip; every rank returns the same dict."""
    one_based_rank = torch.tensor([float(engine.rank + 1)], dtype=torch.float64)
    total = engine.allreduce(one_based_rank, "sum").item()
    mean = engine.allreduce(one_based_rank, "mean").item()

    own = torch.randn(8, dtype=torch.float64)  # differs per rank: ranks are seeded seed + rank
    received = engine.broadcast_object(own)
    everyone = torch.stack(engine.allgather_object(received))  # [size, 8]
    n = engine.size
    return {
        "allreduce_sum": total,
        "expected_sum": n * (n + 1) / 2,
        "allreduce_average": mean,
        "expected_average": (n + 1) / 2,
        "broadcast_identical": bool((everyone == everyone[0]).all()),
        "ok": total == n * (n + 1) / 2
        and abs(mean - (n + 1) / 2) < 1e-12
        and bool((everyone == everyone[0]).all()),
    }


def _regression_data(cfg: CheckOptions, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global data set, identical on every rank: X [steps·B·size, F], y [steps·B·size, 1]."""
    gen = torch.Generator().manual_seed(seed)
    n_rows = cfg.steps * cfg.batch_size * size
    x = torch.randn(n_rows, cfg.features, generator=gen, dtype=torch.float64)
    w_true = torch.randn(cfg.features, 1, generator=gen, dtype=torch.float64)
    y = x @ w_true + 0.1 * torch.randn(n_rows, 1, generator=gen, dtype=torch.float64)
    return x, y


def data_parallel_regression(engine: Engine, cfg: CheckOptions, seed: int) -> dict:
    """Train through the loop's update path on shards, then compare with a full-batch replay."""
    x, y = _regression_data(cfg, engine.size, seed)
    model = torch.nn.Linear(cfg.features, 1).double()  # initialised differently on each rank
    models = {"linear": model}
    step_models, optimizers = engine.distributed(
        models, {"linear": torch.optim.SGD(model.parameters(), lr=cfg.lr)}, "none"
    )
    engine.broadcast_state(models, optimizers)  # start every rank from rank 0's parameters
    start = {k: v.clone() for k, v in model.state_dict().items()}

    phase = Updater(models, step_models, optimizers, engine, None, 0.0)
    global_batch = cfg.batch_size * engine.size
    first = engine.rank * cfg.batch_size
    for step in range(cfg.steps):
        rows = slice(step * global_batch + first, step * global_batch + first + cfg.batch_size)
        with phase("linear") as linear:
            linear.update(torch.nn.functional.mse_loss(linear.model(x[rows]), y[rows]))

    final = torch.cat([p.detach().flatten() for p in model.parameters()])
    everyone = torch.stack(engine.allgather_object(final))  # [size, P]
    ranks_agree = float((everyone - everyone[0]).abs().max())

    # Single-process reference: the same start, plain SGD on each full global batch.
    replay = torch.nn.Linear(cfg.features, 1).double()
    replay.load_state_dict(start)
    sgd = torch.optim.SGD(replay.parameters(), lr=cfg.lr)
    for step in range(cfg.steps):
        rows = slice(step * global_batch, (step + 1) * global_batch)
        sgd.zero_grad()
        torch.nn.functional.mse_loss(replay(x[rows]), y[rows]).backward()
        sgd.step()
    reference = torch.cat([p.detach().flatten() for p in replay.parameters()])
    vs_replay = float((final - reference).abs().max())

    with torch.no_grad():
        start_model = torch.nn.Linear(cfg.features, 1).double()
        start_model.load_state_dict(start)
        loss_start = torch.nn.functional.mse_loss(start_model(x), y).item()
        loss_end = torch.nn.functional.mse_loss(model(x), y).item()
    return {
        "steps": cfg.steps,
        "global_batch": global_batch,
        "max_param_diff_between_ranks": ranks_agree,
        "max_param_diff_vs_single_process": vs_replay,
        "loss_start": loss_start,
        "loss_end": loss_end,
        "ok": ranks_agree == 0.0 and vs_replay <= cfg.tolerance and loss_end < loss_start,
    }


def run_check(engine: Engine, info: RankInfo, cfg: CheckOptions, seed: int) -> dict:
    """Run both checks and gather every rank's :class:`RankInfo`; all ranks return the same."""
    ranks = engine.allgather_object(info.as_dict())
    collectives = collective_roundtrip(engine)
    training = data_parallel_regression(engine, cfg, seed)
    for r in ranks:
        log.info(
            "rank %(rank)d/%(size)d local %(local_rank)d/%(local_size)d on %(host)s: "
            "%(engine)s over %(controller)s, %(device)s, %(threads)d thread(s)",
            r,
        )
    log.info(
        "allreduce sum %(allreduce_sum).0f (expect %(expected_sum).0f), average "
        "%(allreduce_average).3f (expect %(expected_average).3f), broadcast identical: "
        "%(broadcast_identical)s",
        collectives,
    )
    log.info(
        "data-parallel SGD, %(steps)d steps of global batch %(global_batch)d: loss "
        "%(loss_start).4f -> %(loss_end).4f, max |Δθ| between ranks "
        "%(max_param_diff_between_ranks).1e, vs single-process replay "
        "%(max_param_diff_vs_single_process).1e",
        training,
    )
    return {
        "ranks": ranks,
        "collectives": collectives,
        "training": training,
        "ok": collectives["ok"] and training["ok"],
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m distributed.check``: run the check on this world; 0 if it passed, 1 if not,
    2 on a bad option."""
    from distributed.train import add_process_arguments, engine_choice  # (the same options)

    parser = argparse.ArgumentParser(
        prog="python -m distributed.check",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    run = parser.add_argument_group("run", "where the results go and how this process runs")
    run.add_argument(
        "--out", type=Path, default=None, help="directory (default: runs/<UTC time>-check)"
    )
    add_process_arguments(run)
    add_dataclass_arguments(parser, CheckOptions, "check")
    args = parser.parse_args(argv)
    try:
        cfg = dataclass_from_args(CheckOptions, args)
        engine, info = init_rank(engine_choice(args), args.threads_per_rank, args.seed)
    except ValueError as err:
        print(f"distributed.check: error: {err}", file=sys.stderr)
        return 2
    name = f"runs/{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-check"
    out = Path(args.out or engine.broadcast_object(name))
    if info.is_root:
        out.mkdir(parents=True, exist_ok=True)
        record = {
            "task": "check",
            "argv": sys.argv[1:],
            "world": info.as_dict(),
            "check": asdict(cfg),
        }
        atomic_write(out / "config.json", json.dumps(record, indent=2) + "\n")
    setup_logging(engine, out / "train.log")
    result = run_check(engine, info, cfg, seed=args.seed)
    if info.is_root:
        atomic_write(out / "check.json", json.dumps(result, indent=2) + "\n")
        log.info("check: %s; outputs in %s/", "PASSED" if result["ok"] else "FAILED", out)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
