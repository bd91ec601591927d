"""The one training loop of both models, on either engine: the distributed recipe on one page.

    join the world, pin threads/GPU, seed            (distributed.runtime.init_rank, by the caller)
    engine.distributed: Horovod wraps each optimizer (DistributedOptimizer), torch each model (DDP)
    (--resume: load the checkpoint on every rank) broadcast parameters and optimizer state
    shard the data: ShardedSampler (same global order for a seed, whatever the world size)
    DataLoader workers collate batches while the step runs (on-the-fly batching)
    per step: lr = base · lr_factor (scaling by ranks, warm-up, decay) → autocast → task.step
              → per phase (distributed.task): freeze the other models → scale → backward →
              averaged gradients → unscale → skip if non-finite → clip → step → scaler.update
    rank 0: progress bar, metrics.csv, timing.jsonl, TensorBoard (distributed.records);
            checkpoints at epoch ends and every --checkpoint-every steps (distributed.checkpoint);
            every --eval-every steps and at the end: evaluation (evaluations.csv, best.pt), report
    --elastic (Horovod): the steps run inside hvd.elastic.run; the state is committed every
            --commit-every steps, and after a lost worker the rest continue from the last commit

The finiteness of the gradients is checked after they are averaged: they are then the same on
every rank, so every rank takes the same decision without another collective. Metrics are
averaged over ranks only on logging steps.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from distributed.checkpoint import load_checkpoint, reseed, rng_state, save_checkpoint
from distributed.engine import Engine
from distributed.records import BestModel, RunLog
from distributed.runtime import RankInfo
from distributed.sampler import Position, ShardedSampler
from distributed.task import PhaseStep, Task

log = logging.getLogger(__name__)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
LR_RULES = ("none", "linear", "sqrt")
PROGRESS_METRICS = ("total", "loss_d", "loss_g")  # shown next to the progress bar


@dataclass
class TrainConfig:
    """Training loop options (shared by every model)."""

    epochs: int = field(default=1, metadata={"help": "passes over the training set"})
    steps: int = field(default=0, metadata={"help": "stop after this many steps (0 = no limit)"})
    global_batch_size: int = field(
        default=32,
        metadata={
            "help": "graphs (jets, events) per optimizer step over all ranks, split evenly "
            "(strong scaling: N ranks make the updates of one process); must divide by the ranks"
        },
    )
    batch_size: int = field(
        default=0,
        metadata={
            "help": "graphs per rank instead (weak scaling: the global batch grows with the "
            "ranks, the steps per epoch shrink; see --scale-lr); 0 = --global-batch-size / ranks"
        },
    )
    amp: str = field(
        default="auto",
        metadata={
            "help": "mixed precision: auto = the model's where the device runs it natively "
            "(GVAE: fp16 on CUDA; MPGAN: bf16 on CUDA and on CPUs with AVX512-BF16/AMX), else "
            "off; bf16 runs on every CPU, emulated (slowly) without those",
            "choices": ["auto", "off", "bf16", "fp16"],
        },
    )
    loader_workers: int = field(
        default=1,
        metadata={
            "help": "DataLoader worker processes per rank (0: in the training process — by a "
            "thread, a few batches ahead, when the rank has a core to spare beyond its torch "
            "threads, else in the step)"
        },
    )
    clip_grad: float = field(default=0.0, metadata={"help": "gradient norm clip (0 = off)"})
    scale_lr: str = field(
        default="none",
        metadata={
            "help": "learning-rate rule for a global batch k times one process's (weak scaling, "
            "k = ranks): linear = ×k (Goyal et al. 2017, SGD), sqrt = ×√k (Malladi et al. "
            "2022, Adam/RMSprop); with --global-batch-size k = 1",
            "choices": list(LR_RULES),
        },
    )
    warmup_steps: int = field(
        default=0,
        metadata={
            "help": "ramp the lr linearly over these steps: from lr to the scaled lr with "
            "--scale-lr, from 0 to lr otherwise"
        },
    )
    lr_decay: str = field(
        default="constant",
        metadata={
            "help": "after the warm-up: keep the lr, or decay it along a half cosine to 0 at "
            "the end of --epochs (--steps stops the run without changing the schedule, so a "
            "run stopped early and resumed gets the same lr at every step)",
            "choices": ["constant", "cosine"],
        },
    )
    compression: str = field(
        default="none",
        metadata={"help": "gradient compression for the allreduce", "choices": ["none", "fp16"]},
    )
    log_every: int = field(default=10, metadata={"help": "steps between metric averages"})
    evaluate: bool = field(
        default=True, metadata={"help": "evaluate and write the model's report at the end"}
    )
    eval_every: str = field(
        default="0",
        metadata={
            "help": "also evaluate every N steps (500) or N epochs (5ep), keeping the best "
            "model as best.pt by the task's selection metric (MPGAN: --selection-metric, GVAE: "
            "median EMD; 0 = at the end only)"
        },
    )
    max_nonfinite: int = field(
        default=10,
        metadata={"help": "stop after this many consecutive updates with non-finite gradients"},
    )
    checkpoint_every: int = field(
        default=0,
        metadata={"help": "also write checkpoint.pt every this many steps (0 = epoch ends only)"},
    )
    elastic: bool = field(
        default=False,
        metadata={
            "help": "Horovod elastic training (launch with horovodrun --min-np/--max-np and a "
            "--host-discovery-script; needs --out): a lost worker rolls the others back to the "
            "last commit and they continue"
        },
    )
    commit_every: int = field(
        default=10, metadata={"help": "with --elastic: steps between commits of the state"}
    )

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.steps < 0 or self.log_every < 1:
            raise ValueError("need --epochs >= 1, --steps >= 0, --log-every >= 1")
        if self.batch_size < 0 or (self.batch_size == 0 and self.global_batch_size < 1):
            raise ValueError(
                "need --global-batch-size >= 1 (or a per-rank --batch-size >= 1), got "
                f"{self.global_batch_size} and {self.batch_size}"
            )
        cadence(self.eval_every)  # ValueError if malformed
        if self.warmup_steps < 0 or self.checkpoint_every < 0 or self.commit_every < 1:
            raise ValueError(
                "need --warmup-steps >= 0, --checkpoint-every >= 0, --commit-every >= 1"
            )


def cadence(text: str) -> tuple[int, str]:
    """``"500"`` → (500, "steps"), ``"5ep"`` (or ``5epochs``) → (5, "epochs"); N = 0: never.

    Raises:
        ValueError: not a non-negative integer with an optional ``ep``/``epochs`` suffix.
    """
    text = str(text).strip().lower()
    number, unit = text, "steps"
    for suffix in ("epochs", "epoch", "ep"):
        if text.endswith(suffix):
            number, unit = text[: -len(suffix)].strip(), "epochs"
            break
    if not number.isdigit():
        raise ValueError(f"--eval-every {text!r}: expected N (steps) or Nep (epochs), e.g. 5ep")
    return int(number), unit


def amp_dtype(amp: str, device: str, auto: torch.dtype | None = None) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` on ``device`` (None = full precision); ``auto`` is what
    ``--amp auto`` means there (the task's :meth:`~distributed.task.Task.autocast_dtype`).

    Raises:
        ValueError: fp16 without CUDA.
    """
    if amp == "auto":
        return auto
    if amp == "fp16" and not device.startswith("cuda"):
        raise ValueError("--amp fp16 needs CUDA; use --amp bf16 on CPU")
    return AMP_DTYPES.get(amp)


def batch_per_rank(cfg: TrainConfig, ranks: int, strict: bool = True) -> int:
    """Graphs per rank per step: ``--batch-size``, or ``--global-batch-size`` split evenly over
    ``ranks`` (not ``strict``, after an elastic reset to a world it does not divide: rounded
    down, at least 1, with a warning).

    Raises:
        ValueError: ``strict`` and the global batch does not divide by ``ranks``.
    """
    if cfg.batch_size:
        return cfg.batch_size
    per_rank, rest = divmod(cfg.global_batch_size, ranks)
    if rest and strict:
        raise ValueError(
            f"--global-batch-size {cfg.global_batch_size} does not divide by {ranks} ranks: "
            "choose a multiple of the ranks, or a per-rank --batch-size"
        )
    if rest:
        log.warning(
            "--global-batch-size %d on %d ranks: %d per rank, a global batch of %d",
            cfg.global_batch_size,
            ranks,
            max(per_rank, 1),
            max(per_rank, 1) * ranks,
        )
    return max(per_rank, 1)


def batch_ratio(cfg: TrainConfig, ranks: int) -> int:
    """k = the global batch over one process's with the same options: ``ranks`` for a per-rank
    ``--batch-size`` (weak scaling), 1 for ``--global-batch-size`` (strong scaling)."""
    return ranks if cfg.batch_size else 1


def log_scaling(
    cfg: TrainConfig, ranks: int, sampler: ShardedSampler, base_lrs: Mapping[str, list[float]]
) -> None:
    """Log the global batch, the learning rates after scaling and warm-up, the optimizer steps
    per epoch, and, in one warning line, how the run's optimisation differs from one process's."""
    k = batch_ratio(cfg, ranks)
    scale = lr_scale(cfg.scale_lr, k)
    lrs = ", ".join(f"{name} {lr[0] * scale:.3g}" for name, lr in base_lrs.items())
    warmup = (
        f" after a {cfg.warmup_steps}-step warm-up from {'1×' if scale != 1 else '0'}"
        if cfg.warmup_steps
        else ""
    )
    log.info(
        "global batch %d = %d per rank × %d rank(s); %d optimizer steps per epoch; "
        "learning rates %s (×%.3g, --scale-lr %s)%s",
        sampler.global_batch,
        sampler.batch_size,
        ranks,
        sampler.steps_per_epoch(),
        lrs,
        scale,
        cfg.scale_lr,
        warmup,
    )
    if k == 1 and cfg.scale_lr != "none" and ranks > 1:
        log.info("--scale-lr %s has nothing to scale: the global batch is fixed", cfg.scale_lr)
    if k > 1:
        log.warning(
            "weak scaling: a global batch %d× one process's, so %d× fewer optimizer steps per "
            "epoch at %s× the learning rate%s; --global-batch-size %d keeps one process's updates",
            k,
            k,
            f"{scale:.3g}",
            " (expect a worse model for the same epochs)" if cfg.scale_lr == "none" else "",
            cfg.batch_size,
        )


def lr_scale(rule: str, k: float) -> float:
    """The learning-rate multiplier of ``rule`` (:data:`LR_RULES`) for a global batch ``k``
    times the reference one: 1 (none), k (linear: Goyal et al. 2017, arXiv:1706.02677) or √k
    (sqrt: Malladi et al. 2022, arXiv:2205.10287, for adaptive optimizers)."""
    return {"none": 1.0, "linear": k, "sqrt": math.sqrt(k)}[rule]


def lr_factor(
    step: int,
    target: float,
    warmup_steps: int,
    decay: str = "constant",
    progress: float = 0.0,
    warmup_end: float = 0.0,
) -> float:
    """Learning-rate multiplier at ``step`` (0-based): ``target`` (:func:`lr_scale`), reached
    linearly over ``warmup_steps`` — from 1 when scaled (Goyal et al.'s gradual warm-up), from 0
    otherwise — then constant, or with ``decay="cosine"`` multiplied by ½(1 + cos(π·t)), t
    running from 0 at the end of the warm-up to 1 at the end of the schedule. ``progress`` is
    the fraction of the schedule (``--epochs``) done before this step and ``warmup_end`` the
    fraction at which the warm-up ends; both count data, not steps, so that the schedule stays
    the same when the number of ranks changes."""
    if step < warmup_steps:
        start = 1.0 if target != 1.0 else 0.0
        return start + (target - start) * (step + 1) / warmup_steps
    if decay == "constant" or warmup_end >= 1.0:
        return target
    t = min(max((progress - warmup_end) / (1.0 - warmup_end), 0.0), 1.0)
    return target * 0.5 * (1.0 + math.cos(math.pi * t))


def move(batch: Any, device: torch.device) -> Any:
    """Move a tensor, PyG batch or (nested) tuple/list/dict of them to ``device``."""
    if isinstance(batch, tuple | list):
        return type(batch)(move(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move(v, device) for k, v in batch.items()}
    return batch.to(device) if hasattr(batch, "to") else batch


class Prefetcher:
    """Iterates ``iterable`` in a background thread, up to ``depth`` items ahead: with no loader
    processes, the next batch is collated while the step runs (its kernels release the GIL).
    A context manager; leaving it stops the thread."""

    _END = object()

    def __init__(self, iterable: Any, depth: int = 2) -> None:
        self.queue: queue.Queue = queue.Queue(depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._fill, args=(iter(iterable),), daemon=True)
        self.thread.start()

    def _fill(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(self._END)
        except Exception as err:  # re-raised in the training thread
            self._put(err)

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless told to stop first; False when stopped."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> Any:
        item = self.queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


class Updater:
    """The :data:`~distributed.task.Phase` factory handed to ``task.step``; times communication.

    ``communication`` accumulates, per phase, the time from the last local gradient (a hook on
    every parameter) to the averaged gradients being in place: under Horovod the wait in
    ``synchronize()``, under DDP the end of the backward pass, where it waits for its buckets.
    """

    def __init__(
        self,
        models: Mapping[str, torch.nn.Module],
        step_models: Mapping[str, Any],
        optimizers: Mapping[str, Any],
        engine: Engine,
        dtype: torch.dtype | None,
        clip_grad: float,
    ) -> None:
        self.models, self.step_models, self.optimizers = models, step_models, optimizers
        self.engine, self.clip_grad = engine, clip_grad
        # GradScaler only for fp16 on CUDA; elsewhere a disabled scaler passes everything through.
        self.scalers = {
            name: torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
            for name in optimizers
        }
        self.communication = 0.0
        self.last_gradient = 0.0
        self.skipped = 0  # consecutive updates skipped for non-finite gradients
        for model in models.values():
            for p in model.parameters():
                p.register_post_accumulate_grad_hook(self._gradient_ready)

    def _gradient_ready(self, _: torch.Tensor) -> None:
        self.last_gradient = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[PhaseStep]:
        frozen = [
            p
            for other, m in self.models.items()
            if other != name
            for p in m.parameters()
            if p.requires_grad
        ]
        for p in frozen:  # their gradient hooks must not fire on this phase's backward
            p.requires_grad_(False)
        self.optimizers[name].zero_grad()
        try:
            yield PhaseStep(self.step_models[name], partial(self._update, name))
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def _update(self, name: str, loss: torch.Tensor) -> None:
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        scaler.scale(loss).backward()
        self.engine.finish_gradients(optimizer)  # the averaged gradients are in place
        self.communication += time.perf_counter() - self.last_gradient
        scaler.unscale_(optimizer)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        if not torch.isfinite(norm):  # the same averaged gradients on every rank: same decision
            self.skipped += 1
            log.warning("non-finite %s gradients: update skipped (%d in a row)", name, self.skipped)
            optimizer.zero_grad()
            scaler.update()
            return
        self.skipped = 0
        if self.clip_grad > 0:
            torch.nn.utils.clip_grads_with_norm_(params, self.clip_grad, norm)
        self.engine.optimizer_step(optimizer, scaler)
        scaler.update()


def train(
    task: Task,
    cfg: TrainConfig,
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
    device = torch.device(info.device)
    dtype = amp_dtype(cfg.amp, info.device, task.autocast_dtype(info.device))
    step_models, optimizers = engine.distributed(task.models, task.optimizers, cfg.compression)
    base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}
    updater = Updater(task.models, step_models, optimizers, engine, dtype, cfg.clip_grad)
    scalers = updater.scalers
    sampler = ShardedSampler(
        len(task.train_set), batch_per_rank(cfg, engine.size), engine.rank, engine.size, seed
    )
    if sampler.steps_per_epoch() == 0:
        raise ValueError(
            f"{len(task.train_set)} training items are fewer than one global batch of "
            f"{sampler.global_batch} ({sampler.batch_size} per rank on {engine.size} rank(s))"
        )
    position = Position()
    if resume:
        position = load_checkpoint(
            out / "checkpoint.pt", task.models, optimizers, scalers, engine.rank, engine.size, seed
        )

    def data_loader() -> DataLoader:
        """This rank's batches (again after an elastic reset changed the batch per rank)."""
        return DataLoader(
            task.train_set,
            batch_size=sampler.batch_size,
            sampler=sampler,
            collate_fn=task.collate,
            num_workers=cfg.loader_workers,
            drop_last=True,
            persistent_workers=cfg.loader_workers > 0,
            multiprocessing_context="forkserver" if cfg.loader_workers else None,
            generator=torch.Generator().manual_seed(seed + engine.rank),  # not the global stream
        )

    step_limit = cfg.steps or math.inf
    log.info(
        "%s%s: %d epoch(s) on %d rank(s) (%s); amp %s; %d loader worker(s)",
        f"{cfg.steps} step(s)" if cfg.steps else "training",
        f", resuming after step {position.step}" if resume else "",
        cfg.epochs,
        engine.size,
        engine.name,
        dtype,
        cfg.loader_workers,
    )
    log_scaling(cfg, engine.size, sampler, base_lrs)

    records: dict[str, Any] = {"log": None, "best": None}

    def open_records(at: Position) -> None:
        """Rank 0's files (again after an elastic reset made another process rank 0)."""
        if engine.rank == 0 and records["log"] is None:
            append = resume or (cfg.elastic and (out / "metrics.csv").is_file())
            records["log"] = RunLog(out, append=append, from_step=at.step)
            if cfg.evaluate:
                records["best"] = BestModel(task, out, records["log"], append)

    def checkpoint(at: Position) -> None:
        """Collective: every rank's random streams go to rank 0, which writes."""
        rngs = engine.allgather_object(rng_state())
        if engine.rank == 0:
            extra = {"epoch": at.epoch, "config": config_record}
            save_checkpoint(
                out / "checkpoint.pt", task.models, optimizers, scalers, rngs, at, extra
            )

    n_every, every = cadence(cfg.eval_every)

    def evaluate(at: Position) -> None:
        """Rank 0 evaluates the checkpoint just written; the others wait in the next
        collective."""
        if records["best"]:
            records["best"].evaluate(at.step, at.epoch)

    sums: dict[str, float] = defaultdict(float)  # step metrics since the last logging step
    bar = tqdm(unit="step", disable=engine.rank != 0, dynamic_ncols=True)

    def one_step(batches: Iterator, position: Position, last_step: float, state: Any) -> Position:
        """One optimizer step (all phases), its records and cadences; returns the new position."""
        # Data: wait for the next batch, then copy it to the device.
        start = time.perf_counter()
        batch = next(batches)
        loaded = time.perf_counter()
        batch = move(batch, device)
        copied = time.perf_counter()
        # Learning rate for this step, from the position in the schedule.
        usable = sampler.steps_per_epoch() * sampler.global_batch
        factor = lr_factor(
            position.step,
            lr_scale(cfg.scale_lr, batch_ratio(cfg, engine.size)),
            cfg.warmup_steps,
            cfg.lr_decay,
            (position.epoch + position.consumed / usable) / cfg.epochs,
            cfg.warmup_steps / (sampler.steps_per_epoch() * cfg.epochs),
        )
        for name, optimizer in optimizers.items():
            for group, base in zip(optimizer.param_groups, base_lrs[name], strict=True):
                group["lr"] = base * factor
        # The step: the task's phases, each a distributed update (Updater).
        updater.communication = 0.0
        with torch.autocast(device.type, dtype) if dtype else nullcontext():
            metrics = task.step(batch, updater)
        if updater.skipped >= cfg.max_nonfinite:
            raise FloatingPointError(
                f"{updater.skipped} consecutive non-finite gradients: stopping (lower the "
                "learning rate or use --amp off)"
            )
        position = replace(
            position, step=position.step + 1, consumed=position.consumed + sampler.global_batch
        )
        # Metrics averaged over ranks on logging steps only (one allreduce).
        for k, v in metrics.items():
            sums[k] += v
        sums["_count"] += 1
        averaged = None
        if position.step % cfg.log_every == 0 or position.step == last_step:
            reduce_start = time.perf_counter()
            count = sums.pop("_count")
            averaged = average_metrics(engine, sums, count)
            updater.communication += time.perf_counter() - reduce_start
            sums.clear()
        seconds = {
            "step_time": time.perf_counter() - start,
            "data_wait": loaded - start,
            "copy": copied - loaded,
            "communication": updater.communication,
        }
        if records["log"]:
            records["log"].timing(position.step, position.epoch, seconds, sampler.global_batch)
            if averaged:
                records["log"].metrics(position.step, position.epoch, averaged)
                shown = {k: f"{v:.3g}" for k, v in averaged.items() if k in PROGRESS_METRICS}
                bar.set_postfix(shown)
        bar.update(1)
        # Checkpoints, evaluations, elastic commits at their cadences.
        if cfg.checkpoint_every and position.step % cfg.checkpoint_every == 0:
            checkpoint(position)
        if every == "steps" and n_every and position.step < last_step:  # (the last one: after)
            if position.step % n_every == 0:
                checkpoint(position)
                evaluate(position)
        if cfg.elastic and position.step % cfg.commit_every == 0:
            state.position = position
            state.scalers = {k: s.state_dict() for k, s in scalers.items()}
            state.commit()  # Horovod elastic: the point a lost worker rolls back to
        return position

    def run(state: Any) -> None:
        """The steps from ``state.position`` to the end (again after an elastic reset)."""
        position: Position = state.position
        open_records(position)
        sampler.rank, sampler.size = engine.rank, engine.size
        sampler.batch_size = batch_per_rank(cfg, engine.size, strict=False)
        loader = data_loader()
        last_step = min(step_limit, sampler.steps_per_epoch() * cfg.epochs)  # on this world
        bar.reset(total=last_step)
        bar.update(position.step)
        sums.clear()
        for model in task.models.values():
            model.train()
        # No loader processes: a thread collates the next batch during the step if this rank
        # has a core to spare; on a fully used machine it would only slow the step.
        spare = (os.cpu_count() or 1) // engine.local_size > torch.get_num_threads()
        prefetch = cfg.loader_workers == 0 and spare
        while position.epoch < cfg.epochs and position.step < step_limit:
            sampler.position = position
            steps = int(min(sampler.steps_left(), step_limit - position.step))
            stream = Prefetcher(loader) if prefetch else nullcontext(iter(loader))
            with stream as batches:
                for _ in range(steps):
                    position = one_step(batches, position, last_step, state)
            epoch_done = position.consumed + sampler.global_batch > sampler.length
            if epoch_done:
                position = Position(position.step, position.epoch + 1, 0)
            checkpoint(position)
            if epoch_done and every == "epochs" and n_every and position.step < last_step:
                if position.epoch % n_every == 0:
                    evaluate(position)
        state.position = position

    def on_reset(state: Any) -> None:
        """After an elastic reset: the committed state is back; adapt to the new world."""
        if records["log"]:  # reopened by run(): records after the commit are dropped
            records["log"].close()
            records.update(log=None, best=None)
        reseed(seed, engine.rank, state.position.step)
        for name, scaler in scalers.items():
            scaler.load_state_dict(state.scalers[name])
        if engine.rank == 0:
            log.warning(
                "world size now %d: continuing from the commit at step %d (rank streams "
                "reseeded; learning rates follow the world size)",
                engine.size,
                state.position.step,
            )

    if cfg.elastic:
        state = engine.run_elastic(
            run,
            task.models,
            optimizers,
            on_reset,
            position=position,
            scalers={k: s.state_dict() for k, s in scalers.items()},
        )
    else:
        engine.broadcast_state(task.models, optimizers)  # everyone starts from rank 0's state
        state = _LocalState(position)
        run(state)
    position = state.position
    bar.close()
    spread = parameter_spread(engine, task)  # every rank must end with the same model

    results: dict[str, float] = {}
    if engine.rank == 0:
        results = {"steps": position.step, "param_spread_between_ranks": spread}
        if records["best"]:
            results.update(records["best"].evaluate(position.step, position.epoch))
        records["log"].close()
        log.info(
            "evaluation: %s",
            ", ".join(f"{k} {v:.4g}" for k, v in results.items() if math.isfinite(v)),
        )
        if cfg.evaluate:
            for model in task.models.values():
                model.eval()
            task.report(out)
    return results


class _LocalState:
    """Where a non-elastic run keeps its position (elastic: in ``hvd.elastic.TorchState``)."""

    def __init__(self, position: Position) -> None:
        self.position = position


def average_metrics(engine: Engine, sums: dict[str, float], count: int) -> dict[str, float]:
    """Average accumulated metric sums over steps and ranks (one allreduce)."""
    names = sorted(sums)
    local = torch.tensor([sums[n] / max(count, 1) for n in names], dtype=torch.float64)
    return dict(zip(names, engine.allreduce(local, "mean").tolist(), strict=True))


def parameter_spread(engine: Engine, task: Task) -> float:
    """Largest difference of any parameter between ranks (0.0 when all ranks agree)."""
    flat = torch.cat(
        [p.detach().double().flatten().cpu() for m in task.models.values() for p in m.parameters()]
    )
    return float((engine.allreduce(flat, "max") - engine.allreduce(flat, "min")).abs().max())
