"""The one training loop of both models, on either engine: the distributed recipe on one page.

    join the world, pin threads/GPU, seed            (distributed.runtime.init_rank, by the caller)
    engine.distributed: Horovod wraps each optimizer (DistributedOptimizer), torch each model (DDP)
    (--resume: load the checkpoint on every rank) broadcast parameters and optimizer state
    shard the data: ShardedSampler (same global order for a seed, whatever the world size)
    DataLoader workers collate batches while the step runs (on-the-fly batching)
    per step (train_step, then record_step): lr = base · lr_factor (distributed.options) →
              autocast → task.step
              → per phase (distributed.update): freeze the other models → scale → backward →
              averaged gradients → unscale → skip if non-finite → clip → step → scaler.update
    rank 0: progress bar, metrics.csv, timing.jsonl, TensorBoard (distributed.records);
            checkpoints at epoch ends and every --checkpoint-every steps (distributed.checkpoint);
            every --eval-every steps or epochs and at the end: evaluation (evaluations.csv,
            best.pt), then the report
    --elastic (Horovod): the epochs run inside hvd.elastic.run; the state is committed every
            --commit-every steps, and after a lost worker the rest continue from the last commit

Host–device syncs per step: one per phase (is the averaged gradient finite? every rank decides
the same from the same averaged gradients, without another collective) and one at the end of
the step, so that its timing line holds the step's GPU work. The task's metrics stay tensors;
they leave the device, averaged over ranks in one allreduce, on logging steps only.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from distributed.batches import Prefetcher, data_loader, move
from distributed.checkpoint import load_checkpoint, reseed, rng_state, save_checkpoint
from distributed.engine import Engine
from distributed.options import (
    TrainOptions,
    amp_dtype,
    batch_per_rank,
    batch_ratio,
    cadence,
    log_scaling,
    lr_factor,
    lr_scale,
)
from distributed.records import BestModel, RunLog
from distributed.runtime import RankInfo
from distributed.sampler import Position, ShardedSampler
from distributed.task import Task
from distributed.update import Updater

log = logging.getLogger(__name__)

PROGRESS_METRICS = ("total", "loss_d", "loss_g")  # shown next to the progress bar


@dataclass
class Run:
    """A training in progress on this rank: what it trains and with what, where it stands in
    the data, and rank 0's records (``out`` None: nothing is written, as in a benchmark).

    Where it stands lives in one place, ``state`` (Horovod's habit): ``state.position``, read
    and written as ``run.position``; for an elastic run ``state`` is the
    ``hvd.elastic.TorchState`` that commits and restores it with the models and optimizers.
    """

    task: Task
    cfg: TrainOptions
    engine: Engine
    device: torch.device
    dtype: torch.dtype | None  # autocast dtype, None: full precision
    optimizers: dict[str, Any]  # as the engine steps them
    updater: Updater
    sampler: ShardedSampler
    base_lrs: dict[str, list[float]]  # per optimizer, per parameter group
    seed: int
    out: Path | None = None
    config_record: dict = field(default_factory=dict)
    resume: bool = False
    state: Any = field(default_factory=lambda: LocalState(Position()))
    last_step: float = math.inf  # the run's last step on this world
    checkpointed: int = -1  # the step checkpoint.pt holds (-1: none of this timeline)
    log: RunLog | None = None
    best: BestModel | None = None
    sums: dict[str, torch.Tensor] = field(default_factory=dict)  # metrics since the last log
    counts: dict[str, int] = field(default_factory=dict)  # steps that reported each one
    bar: tqdm | None = None

    @property
    def position(self) -> Position:
        return self.state.position

    @position.setter
    def position(self, position: Position) -> None:
        self.state.position = position


def prepare(
    task: Task,
    cfg: TrainOptions,
    engine: Engine,
    device: torch.device,
    seed: int,
    out: Path | None = None,
    config_record: dict | None = None,
) -> Run:
    """The task's models and optimizers as the engine trains them, the update path and this
    rank's share of the data (raises ``ValueError`` if no global batch fits in the data)."""
    dtype = amp_dtype(cfg.amp, str(device), task.autocast_dtype(str(device)))
    # distributed: Horovod wraps each optimizer, torch wraps each model in DDP
    step_models, optimizers = engine.distributed(task.models, task.optimizers, cfg.compression)
    base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}
    updater = Updater(task.models, step_models, optimizers, engine, dtype, cfg.clip_grad)
    sampler = ShardedSampler(  # distributed: this rank's share of every global batch
        len(task.train_set), batch_per_rank(cfg, engine.size), engine.rank, engine.size, seed
    )
    if sampler.steps_per_epoch() == 0:
        raise ValueError(
            f"{len(task.train_set)} training items are fewer than one global batch of "
            f"{sampler.global_batch} ({sampler.batch_size} per rank on {engine.size} rank(s))"
        )
    return Run(
        task, cfg, engine, device, dtype, optimizers, updater, sampler, base_lrs, seed, out,
        config_record or {},
    )  # fmt: skip


def train(
    task: Task,
    cfg: TrainOptions,
    engine: Engine,
    info: RankInfo,
    out: Path,
    seed: int,
    config_record: dict,
    resume: bool = False,
) -> dict[str, float]:
    """Train ``task``; rank 0 writes metrics, timing, checkpoints and the report to ``out``.

    With ``resume``, continue from ``out/checkpoint.pt`` (models, optimizers, random streams,
    position in the data) and append to the run's files. Returns the final evaluation metrics
    (rank 0; other ranks get {})."""
    run = prepare(task, cfg, engine, torch.device(info.device), seed, out, config_record)
    run.resume = resume
    if resume:  # every rank loads the same checkpoint
        run.position = load_checkpoint(
            out / "checkpoint.pt", task.models, run.optimizers, run.updater.scalers,
            engine.rank, engine.size, seed,
        )  # fmt: skip
        run.checkpointed = run.position.step
    log.info(
        "%s%s: %d epoch(s) on %d rank(s) (%s); amp %s; %d loader worker(s)",
        f"{cfg.steps} step(s)" if cfg.steps else "training",
        f", resuming after step {run.position.step}" if resume else "",
        cfg.epochs, engine.size, engine.name, run.dtype, cfg.loader_workers,
    )  # fmt: skip
    per_rank, sampler = run.sampler.batch_size, run.sampler
    log_scaling(cfg, engine.size, per_rank, sampler.steps_per_epoch(), run.base_lrs)
    if cfg.elastic:  # distributed: Horovod elastic, the state in one hvd.elastic.TorchState
        engine.run_elastic(
            partial(run_epochs, run), task.models, run.optimizers, partial(on_reset, run),
            position=run.position, scalers=scaler_states(run),
        )  # fmt: skip
    else:
        engine.broadcast_state(task.models, run.optimizers)  # distributed: rank 0's state
        run_epochs(run, run.state)
    return finish(run)


def run_epochs(run: Run, state: Any) -> None:
    """The steps from ``state.position`` to the end, with the checkpoints, evaluations and
    elastic commits at their cadences (again from the last commit after an elastic reset)."""
    engine, cfg, sampler = run.engine, run.cfg, run.sampler
    run.state = state  # (elastic: the TorchState, the position in it restored after a reset)
    open_records(run)
    sampler.rank, sampler.size = engine.rank, engine.size  # distributed: this world's shares
    sampler.batch_size = batch_per_rank(cfg, engine.size, strict=False)
    loader = data_loader(run.task, sampler, cfg.loader_workers, run.seed + engine.rank)
    step_limit = cfg.steps or math.inf
    run.last_step = min(step_limit, sampler.steps_per_epoch() * cfg.epochs)
    run.bar = run.bar or tqdm(unit="step", disable=engine.rank != 0, dynamic_ncols=True)
    run.bar.reset(total=run.last_step)
    run.bar.update(run.position.step)
    run.sums, run.counts = {}, {}
    for model in run.task.models.values():
        model.train()
    # No loader processes: a thread collates the next batch during the step if this rank has
    # a core to spare beyond its torch threads; on a fully used machine it would only slow it.
    spare = (os.cpu_count() or 1) // engine.local_size > torch.get_num_threads()
    prefetch = cfg.loader_workers == 0 and spare
    n_every, every = cadence(cfg.eval_every)
    while run.position.epoch < cfg.epochs and run.position.step < step_limit:
        sampler.position = run.position
        steps = int(min(sampler.steps_left(), step_limit - run.position.step))
        with Prefetcher(loader) if prefetch else nullcontext(iter(loader)) as batches:
            for _ in range(steps):
                record_step(run, train_step(run, batches))
                step = run.position.step
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    checkpoint(run)
                if every == "steps" and n_every and step % n_every == 0 and step < run.last_step:
                    checkpoint(run)
                    evaluate(run)  # (the last evaluation follows the loop)
                if cfg.elastic and step % cfg.commit_every == 0:
                    state.scalers = scaler_states(run)
                    state.commit()  # distributed: the point a lost worker rolls back to
        epoch_done = run.position.consumed + sampler.global_batch > sampler.length
        if epoch_done:
            run.position = Position(run.position.step, run.position.epoch + 1, 0)
        checkpoint(run)
        if epoch_done and every == "epochs" and n_every and run.position.step < run.last_step:
            if run.position.epoch % n_every == 0:
                evaluate(run)


@dataclass(frozen=True)
class StepRecord:
    """What one step measured: where it ended, its timing (``step_time`` and its parts, seconds)
    and, on logging steps, the task's metrics averaged over ranks (else None)."""

    step: int
    epoch: int
    seconds: dict[str, float]
    averaged: dict[str, float] | None


def train_step(run: Run, batches: Any) -> StepRecord:
    """One optimizer step of every model the task trains (all its phases): the batch from
    ``batches``, the learning rates at this position, the task's step under autocast, and the
    metrics averaged over ranks on logging steps; returns what it measured.

    Raises:
        FloatingPointError: ``--max-nonfinite`` updates in a row had non-finite gradients.
    """
    cfg, position, updater = run.cfg, run.position, run.updater
    start = time.perf_counter()
    batch = next(batches)  # wait for the collated batch
    loaded = time.perf_counter()
    batch = move(batch, run.device)  # host → device
    copied = time.perf_counter()
    set_learning_rates(run)
    updater.communication = 0.0
    updater.batch_index = position.consumed // run.sampler.global_batch  # (the task's schedule)
    with torch.autocast(run.device.type, run.dtype) if run.dtype else nullcontext():
        metrics = run.task.step(batch, updater)
    if updater.skipped >= cfg.max_nonfinite:
        raise FloatingPointError(
            f"{updater.skipped} consecutive non-finite gradients: stopping (lower the learning "
            "rate or use --amp off)"
        )
    run.position = replace(
        position, step=position.step + 1, consumed=position.consumed + run.sampler.global_batch
    )
    for name, value in metrics.items():  # stays on the device until a logging step
        run.sums[name] = run.sums.get(name, 0) + torch.as_tensor(value).detach().double()
        run.counts[name] = run.counts.get(name, 0) + 1  # (a phase may skip steps: n_critic)
    averaged = None
    if run.position.step % cfg.log_every == 0 or run.position.step == run.last_step:
        reduce_start = time.perf_counter()
        averaged = average_metrics(run.engine, run.sums, run.counts)  # distributed: allreduce
        updater.communication += time.perf_counter() - reduce_start
        run.sums, run.counts = {}, {}
    if run.device.type == "cuda":
        torch.cuda.synchronize(run.device)  # the step's GPU work belongs to its timing line
    seconds = {
        "step_time": time.perf_counter() - start,
        "data_wait": loaded - start,
        "copy": copied - loaded,
        "communication": updater.communication,
    }
    return StepRecord(run.position.step, run.position.epoch, seconds, averaged)


def record_step(run: Run, record: StepRecord) -> None:
    """Rank 0's records of a step: its timing line, the averaged metrics on logging steps, the
    progress bar."""
    if run.log:
        run.log.timing(record.step, record.epoch, record.seconds, run.sampler.global_batch)
        if record.averaged:
            run.log.metrics(record.step, record.epoch, record.averaged)
            shown = {k: f"{v:.3g}" for k, v in record.averaged.items() if k in PROGRESS_METRICS}
            run.bar.set_postfix(shown)
    if run.bar:
        run.bar.update(1)


def set_learning_rates(run: Run) -> None:
    """Every parameter group's lr = its base × :func:`distributed.options.lr_factor` at the run's
    position (the fraction of the schedule done counts data, so it survives world changes)."""
    cfg, sampler, position = run.cfg, run.sampler, run.position
    usable = sampler.steps_per_epoch() * sampler.global_batch
    factor = lr_factor(
        position.step,
        lr_scale(cfg.scale_lr, batch_ratio(cfg, run.engine.size)),
        cfg.warmup_steps,
        cfg.lr_decay,
        (position.epoch + position.consumed / usable) / cfg.epochs,
        cfg.warmup_steps / (sampler.steps_per_epoch() * cfg.epochs),
        scaled=cfg.scale_lr != "none",
    )
    for name, optimizer in run.optimizers.items():
        for group, base in zip(optimizer.param_groups, run.base_lrs[name], strict=True):
            group["lr"] = base * factor


def open_records(run: Run) -> None:
    """Rank 0's files (again after an elastic reset made another process rank 0)."""
    if run.engine.rank == 0 and run.out is not None and run.log is None:
        append = run.resume or (run.cfg.elastic and (run.out / "metrics.csv").is_file())
        run.log = RunLog(run.out, append=append, from_step=run.position.step)
        if run.cfg.evaluate:
            run.best = BestModel(run.task, run.out, run.log, append)


def checkpoint(run: Run) -> None:
    """Collective: every rank's random streams go to rank 0, which writes ``checkpoint.pt`` —
    once per step (cadences that meet, an epoch's end on a checkpoint step: one write)."""
    if run.position.step == run.checkpointed:  # (the same on every rank)
        return
    run.checkpointed = run.position.step
    rngs = run.engine.allgather_object(rng_state())
    if run.engine.rank == 0 and run.out is not None:
        extra = {"epoch": run.position.epoch, "config": run.config_record}
        save_checkpoint(
            run.out / "checkpoint.pt", run.task.models, run.optimizers, run.updater.scalers,
            rngs, run.position, extra,
        )  # fmt: skip


def evaluate(run: Run) -> None:
    """Rank 0 evaluates the checkpoint just written; the others wait in the next collective."""
    if run.best:
        run.best.evaluate(run.position.step, run.position.epoch)


def scaler_states(run: Run) -> dict[str, dict]:
    return {k: s.state_dict() for k, s in run.updater.scalers.items()}


def on_reset(run: Run, state: Any) -> None:
    """After an elastic reset: the committed state is back; adapt to the new world."""
    if run.log:  # reopened by run_epochs: records after the commit are dropped
        run.log.close()
        run.log = run.best = None
    run.checkpointed = -1  # the steps after the commit are redone: their checkpoints too
    reseed(run.seed, run.engine.rank, state.position.step)
    for name, scaler in run.updater.scalers.items():
        scaler.load_state_dict(state.scalers[name])
    if run.engine.rank == 0:
        log.warning(
            "world size now %d: continuing from the commit at step %d (rank streams reseeded; "
            "the global batch and learning rates follow --global-batch-size/--scale-lr)",
            run.engine.size,
            state.position.step,
        )


def finish(run: Run) -> dict[str, float]:
    """After the last step: check that every rank holds the same model, report skipped updates,
    evaluate and write the report (rank 0, which gets the results; the others {})."""
    if run.bar:
        run.bar.close()
    spread = parameter_spread(run.engine, run.task)  # every rank must end with the same model
    if run.engine.rank != 0:
        return {}
    skipped = run.updater.skipped_total
    if skipped:
        log.warning("%d update(s) skipped for non-finite gradients (train.log has each)", skipped)
    results = {
        "steps": run.position.step,
        "param_spread_between_ranks": spread,
        "skipped_updates": skipped,
    }
    if run.best:
        results.update(run.best.evaluate(run.position.step, run.position.epoch))
    if run.log:
        run.log.close()
    log.info(
        "evaluation: %s",
        ", ".join(f"{k} {v:.4g}" for k, v in results.items() if math.isfinite(v)),
    )
    if run.cfg.evaluate and run.out is not None:
        for model in run.task.models.values():
            model.eval()
        run.task.report(run.out)
    return results


class LocalState:
    """Where a non-elastic run keeps its position (elastic: ``hvd.elastic.TorchState``)."""

    def __init__(self, position: Position) -> None:
        self.position = position


def average_metrics(
    engine: Engine, sums: dict[str, torch.Tensor], counts: dict[str, int]
) -> dict[str, float]:
    """Accumulated metric sums, each averaged over the steps that reported it and over the ranks
    (one allreduce; the host sync). Every rank reports the same metrics on the same steps."""
    names = sorted(sums)
    if not names:
        return {}
    local = torch.stack([sums[n] / counts[n] for n in names]).cpu()
    return dict(zip(names, engine.allreduce(local, "mean").tolist(), strict=True))


def parameter_spread(engine: Engine, task: Task) -> float:
    """Largest difference of any parameter between ranks (0.0 when all ranks agree)."""
    flat = torch.cat(
        [p.detach().double().flatten().cpu() for m in task.models.values() for p in m.parameters()]
    )
    return float((engine.allreduce(flat, "max") - engine.allreduce(flat, "min")).abs().max())
