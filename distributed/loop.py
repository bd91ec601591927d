"""The one Horovod training loop both models use — the whole distributed recipe on one page.

    hvd.init, pin threads/GPU, seed             (distributed.runtime.init_horovod, by the caller)
    wrap each optimizer: hvd.DistributedOptimizer(named_parameters=…, compression=…)
    (--resume: load the checkpoint on every rank) broadcast parameters and optimizer state
    shard the data: DistributedSampler (same global order for a seed, whatever the world size)
    DataLoader workers build and collate graphs while the step runs (on-the-fly batching)
    per step: lr = base · lr_factor(step) (scaling by ranks, warm-up, decay) → autocast → task.step
              → per phase: freeze the other models → scale → backward → synchronize
              (allreduce) → unscale → clip → step (skip_synchronize) → scaler.update
    rank 0: progress bar, metrics.csv, timing.jsonl, TensorBoard; every epoch end: checkpoint
            (atomic, all ranks' RNG states); every --eval-every steps and at the end:
            evaluation (evaluations.csv, best.pt by the task's selection metric), then the report

Per-step timing lines (``timing.jsonl``, one JSON object per step, rank 0) hold ``step_time``
(wall time of the whole step), ``data_wait`` (blocked on the loader), ``allreduce`` (inside
``optimizer.synchronize()``), ``compute`` (the rest) and ``samples_per_s`` (global).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import horovod.torch as hvd
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from distributed.runtime import RankInfo
from distributed.task import Task, Update

log = logging.getLogger(__name__)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    """Training loop options (shared by every model)."""

    epochs: int = field(default=1, metadata={"help": "passes over the training set"})
    steps: int = field(default=0, metadata={"help": "stop after this many steps (0 = no limit)"})
    batch_size: int = field(default=32, metadata={"help": "graphs (jets, events) per worker"})
    amp: str = field(
        default="auto",
        metadata={
            "help": "mixed precision: auto = fp16 on CUDA, off on CPU",
            "choices": ["auto", "off", "bf16", "fp16"],
        },
    )
    loader_workers: int = field(
        default=1, metadata={"help": "DataLoader worker processes per rank (0 = in the step)"}
    )
    clip_grad: float = field(default=0.0, metadata={"help": "gradient norm clip (0 = off)"})
    scale_lr: bool = field(
        default=False, metadata={"help": "multiply learning rates by the number of ranks"}
    )
    warmup_steps: int = field(
        default=0,
        metadata={
            "help": "ramp the lr linearly over these steps: from lr to ranks·lr with "
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
    eval_every: int = field(
        default=0,
        metadata={
            "help": "also evaluate every this many steps, keeping the best model as best.pt "
            "by the task's selection metric (MPGAN: --selection-metric, GVAE: median EMD; "
            "0 = at the end only)"
        },
    )
    max_nonfinite: int = field(
        default=10, metadata={"help": "stop after this many consecutive non-finite losses"}
    )

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.steps < 0 or self.batch_size < 1 or self.log_every < 1:
            raise ValueError("need epochs >= 1, steps >= 0, batch_size >= 1, log_every >= 1")
        if self.eval_every < 0:
            raise ValueError(f"--eval-every must be >= 0, got {self.eval_every}")
        if self.warmup_steps < 0:
            raise ValueError(f"--warmup-steps must be >= 0, got {self.warmup_steps}")


def amp_dtype(amp: str, device: str) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` on ``device`` (None = full precision)."""
    if amp == "auto":
        amp = "fp16" if device.startswith("cuda") else "off"
    if amp == "fp16" and not device.startswith("cuda"):
        raise ValueError("--amp fp16 needs CUDA; use --amp bf16 on CPU")
    return AMP_DTYPES.get(amp)


def lr_factor(
    step: int,
    ranks: int,
    scale_lr: bool,
    warmup_steps: int,
    decay: str = "constant",
    total_steps: int = 0,
) -> float:
    """Learning-rate multiplier at ``step`` (0-based): ``ranks`` with ``scale_lr`` (the linear
    scaling rule of Goyal et al.), reached linearly over ``warmup_steps`` — from 1 with scaling,
    from 0 without — then constant, or with ``decay="cosine"`` multiplied by
    ½(1 + cos(π·t)), t running from 0 after the warm-up to 1 at ``total_steps``."""
    target = float(ranks) if scale_lr else 1.0
    if step < warmup_steps:
        start = 1.0 if scale_lr else 0.0
        return start + (target - start) * (step + 1) / warmup_steps
    if decay == "constant" or total_steps <= warmup_steps:
        return target
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return target * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def move(batch: Any, device: torch.device) -> Any:
    """Move a tensor, PyG batch or (nested) tuple/list/dict of them to ``device``."""
    if isinstance(batch, tuple | list):
        return type(batch)(move(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move(v, device) for k, v in batch.items()}
    return batch.to(device) if hasattr(batch, "to") else batch


class Updater:
    """Performs each phase's distributed update and keeps its timing (see ``distributed.task``)."""

    def __init__(
        self, task: Task, optimizers: dict[str, Any], dtype: torch.dtype | None, clip_grad: float
    ) -> None:
        self.task = task
        self.optimizers = optimizers
        # GradScaler only for fp16 on CUDA; elsewhere a disabled scaler passes everything through.
        self.scalers = {
            name: torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
            for name in optimizers
        }
        self.clip_grad = clip_grad
        self.allreduce_time = 0.0
        self.skipped = 0  # consecutive updates skipped for a non-finite loss

    @contextmanager
    def __call__(self, name: str) -> Iterator[Update]:
        frozen = [
            p
            for other, m in self.task.models.items()
            if other != name
            for p in m.parameters()
            if p.requires_grad
        ]
        for p in frozen:  # their Horovod hooks must not fire on this phase's backward
            p.requires_grad_(False)
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad()

        def update(loss: torch.Tensor) -> None:
            finite = torch.tensor(float(torch.isfinite(loss.detach()).all()))
            if hvd.allreduce(finite, op=hvd.Min, name=f"finite.{name}").item() < 1:
                self.skipped += 1  # every rank agrees to skip: no backward, no allreduce
                log.warning("non-finite %s loss: update skipped (%d in a row)", name, self.skipped)
                return
            self.skipped = 0
            scaler.scale(loss).backward()
            start = time.perf_counter()
            optimizer.synchronize()  # Horovod: wait for the gradient allreduce
            self.allreduce_time += time.perf_counter() - start
            scaler.unscale_(optimizer)
            if self.clip_grad > 0:
                params = [p for g in optimizer.param_groups for p in g["params"]]
                torch.nn.utils.clip_grad_norm_(params, self.clip_grad)
            with optimizer.skip_synchronize():
                scaler.step(optimizer)
            scaler.update()

        try:
            yield update
        finally:
            for p in frozen:
                p.requires_grad_(True)


def distributed_optimizers(task: Task, compression: str = "none") -> dict[str, Any]:
    """Wrap each task optimizer in Horovod's, with parameter names prefixed by the model name."""
    codec = hvd.Compression.fp16 if compression == "fp16" else hvd.Compression.none
    wrapped = {}
    for name, optimizer in task.optimizers.items():
        named = [(f"{name}.{n}", p) for n, p in task.models[name].named_parameters()]
        wrapped[name] = hvd.DistributedOptimizer(
            optimizer, named_parameters=named, compression=codec
        )
    return wrapped


def broadcast_state(task: Task, optimizers: dict[str, Any]) -> None:
    """Rank 0's parameters and optimizer state on every rank."""
    for model in task.models.values():
        hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    for optimizer in optimizers.values():
        hvd.broadcast_optimizer_state(optimizer, root_rank=0)


def rng_state() -> dict:
    """This process's python, numpy and torch random states."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def save_checkpoint(
    path: Path, task: Task, optimizers: dict[str, Any], updater: Updater, state: dict
) -> None:
    """Models, optimizers, scalers, every rank's RNG state and ``state`` (step, epoch, config).

    Collective (every rank calls it; rank 0 writes). Written atomically: temporary file + rename.
    """
    rng = hvd.allgather_object(rng_state(), name="rng_states")
    if hvd.rank() != 0:
        return
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "models": {k: m.state_dict() for k, m in task.models.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "scalers": {k: sc.state_dict() for k, sc in updater.scalers.items()},
            "rng": rng,
            **state,
        },
        tmp,
    )
    tmp.replace(path)


def load_checkpoint(path: Path, task: Task, optimizers: dict[str, Any], updater: Updater) -> int:
    """Restore what :func:`save_checkpoint` wrote (on every rank); returns the step reached."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    for name, model in task.models.items():
        model.load_state_dict(state["models"][name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, scaler in updater.scalers.items():
        scaler.load_state_dict(state["scalers"][name])
    if hvd.rank() < len(state["rng"]):  # same world size: each rank continues its own stream
        set_rng_state(state["rng"][hvd.rank()])
    return int(state["step"])


class ResumableSampler(DistributedSampler):
    """DistributedSampler that can start an epoch after its first ``skip`` batches (resume)."""

    skip = 0

    def __iter__(self):
        return iter(list(super().__iter__())[self.skip :])

    def __len__(self) -> int:
        return super().__len__() - self.skip


def allreduce_metrics(sums: dict[str, float], count: int) -> dict[str, float]:
    """Average accumulated metric sums over steps and ranks (one allreduce)."""
    names = sorted(sums)
    local = torch.tensor([sums[n] / max(count, 1) for n in names], dtype=torch.float64)
    return dict(
        zip(names, hvd.allreduce(local, op=hvd.Average, name="metrics").tolist(), strict=True)
    )


def parameter_spread(task: Task) -> float:
    """Largest difference of any parameter between ranks (0.0 when all ranks agree)."""
    flat = torch.cat(
        [p.detach().double().flatten().cpu() for m in task.models.values() for p in m.parameters()]
    )
    high = hvd.allreduce(flat, op=hvd.Max, name="spread.max")
    low = hvd.allreduce(flat, op=hvd.Min, name="spread.min")
    return float((high - low).abs().max())


def train(
    task: Task,
    cfg: TrainConfig,
    info: RankInfo,
    out: Path,
    seed: int,
    config_record: dict,
    resume: bool = False,
) -> dict[str, float]:
    """Train ``task`` under Horovod; rank 0 writes metrics, timing, checkpoint and report to
    ``out``. With ``resume``, continue from ``out/checkpoint.pt`` (models, optimizers, RNG
    streams, position in the epoch) and append to the run's files. Returns the final
    evaluation metrics (rank 0; other ranks get {})."""
    device = torch.device(info.device)
    dtype = amp_dtype(cfg.amp, info.device)
    optimizers = distributed_optimizers(task, cfg.compression)
    base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}
    updater = Updater(task, optimizers, dtype, cfg.clip_grad)
    step = load_checkpoint(out / "checkpoint.pt", task, optimizers, updater) if resume else 0
    broadcast_state(task, optimizers)  # Horovod: everyone starts from rank 0's state

    sampler = ResumableSampler(
        task.train_set,
        num_replicas=info.size,
        rank=info.rank,
        shuffle=True,
        seed=seed,
        drop_last=True,
    )
    loader = DataLoader(
        task.train_set,
        batch_size=cfg.batch_size,
        sampler=sampler,
        collate_fn=task.collate,
        num_workers=cfg.loader_workers,
        drop_last=True,
        persistent_workers=cfg.loader_workers > 0,
        multiprocessing_context="forkserver" if cfg.loader_workers else None,
        generator=torch.Generator().manual_seed(seed + info.rank),  # not the global stream
    )
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(
            f"{len(task.train_set)} training items are fewer than one batch of "
            f"{cfg.batch_size} per rank on {info.size} rank(s)"
        )
    schedule_steps = steps_per_epoch * cfg.epochs  # the lr decay spans --epochs, whatever --steps
    total = min(schedule_steps, cfg.steps) if cfg.steps else schedule_steps
    log.info(
        "%d step(s)%s: %d epoch(s) × %d steps of %d per rank; amp %s; %d loader worker(s)",
        total,
        f" (resuming after step {step})" if resume else "",
        cfg.epochs,
        steps_per_epoch,
        cfg.batch_size,
        dtype,
        cfg.loader_workers,
    )

    run_log = RunLog(out, append=resume) if info.is_root else None
    best = BestModel(task, out, run_log, resume) if info.is_root and cfg.evaluate else None
    sums: dict[str, float] = defaultdict(float)
    count = 0
    bar = tqdm(total=total, initial=step, unit="step", disable=not info.is_root, dynamic_ncols=True)
    for model in task.models.values():
        model.train()
    epoch = step // steps_per_epoch
    while step < total:
        sampler.set_epoch(epoch)
        sampler.skip = (step - epoch * steps_per_epoch) * cfg.batch_size
        batches = iter(loader)
        while step < total:
            start = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                break
            batch = move(batch, device)
            data_wait = time.perf_counter() - start
            factor = lr_factor(
                step, info.size, cfg.scale_lr, cfg.warmup_steps, cfg.lr_decay, schedule_steps
            )
            for name, optimizer in optimizers.items():
                for group, base in zip(optimizer.param_groups, base_lrs[name], strict=True):
                    group["lr"] = base * factor
            updater.allreduce_time = 0.0
            autocast = (
                torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
            )
            with autocast:
                metrics = task.step(batch, updater)
            if updater.skipped >= cfg.max_nonfinite:
                raise FloatingPointError(
                    f"{updater.skipped} consecutive non-finite losses: "
                    "stopping (lower the learning rate or use --amp off)"
                )
            step += 1
            step_time = time.perf_counter() - start
            for k, v in metrics.items():
                sums[k] += v
            count += 1
            if run_log:
                run_log.timing(
                    step,
                    epoch,
                    step_time,
                    data_wait,
                    updater.allreduce_time,
                    cfg.batch_size * info.size,
                )
            if step % cfg.log_every == 0 or step == total:
                averaged = allreduce_metrics(sums, count)
                sums.clear()
                count = 0
                if run_log:
                    run_log.metrics(step, epoch, averaged)
                    shown = ("total", "loss_d", "loss_g")
                    bar.set_postfix({k: f"{v:.3g}" for k, v in averaged.items() if k in shown})
            bar.update(1)
            if cfg.eval_every and step % cfg.eval_every == 0 and step < total:
                state = {"epoch": epoch, "step": step, "config": config_record}
                save_checkpoint(out / "checkpoint.pt", task, optimizers, updater, state)
                if best:  # rank 0 evaluates; the others wait for it in the next allreduce
                    best.evaluate(step, epoch)
        epoch += 1
        state = {"epoch": step // steps_per_epoch, "step": step, "config": config_record}
        save_checkpoint(out / "checkpoint.pt", task, optimizers, updater, state)
    bar.close()
    spread = parameter_spread(task)  # every rank must end with the same model

    results: dict[str, float] = {}
    if info.is_root:
        results = {"steps": step, "param_spread_between_ranks": spread}
        if best:
            results.update(best.evaluate(step, step // steps_per_epoch))
        run_log.close()
        log.info(
            "evaluation: %s",
            ", ".join(f"{k} {v:.4g}" for k, v in results.items() if math.isfinite(v)),
        )
        if cfg.evaluate:
            for model in task.models.values():
                model.eval()
            task.report(out)
    return results


class BestModel:
    """Rank 0: evaluates the task, appends ``evaluations.csv``, keeps ``best.pt``.

    ``best.pt`` is a copy of the checkpoint written just before the evaluation with the lowest
    ``task.selection_metric`` (the same format as ``checkpoint.pt``, plus ``selection``: metric,
    value, step), so everything that reads a checkpoint reads it too. A resumed run keeps the
    saved best unless it was picked by another metric.
    """

    def __init__(self, task: Task, out: Path, run_log: RunLog, resume: bool) -> None:
        self.task, self.out, self.run_log = task, out, run_log
        self.metric = task.selection_metric
        self.best = math.inf
        if resume and (out / "best.pt").is_file():
            saved = torch.load(out / "best.pt", map_location="cpu", weights_only=False)["selection"]
            if saved["metric"] == self.metric:
                self.best = saved["value"]
            else:
                log.info(
                    "best.pt was picked by %s; the first evaluation by %s replaces it",
                    saved["metric"],
                    self.metric,
                )

    def evaluate(self, step: int, epoch: int) -> dict[str, float]:
        """Evaluate the models as they are now (``checkpoint.pt`` must hold them)."""
        for model in self.task.models.values():
            model.eval()
        metrics = self.task.evaluate()
        for model in self.task.models.values():
            model.train()
        self.run_log.evaluation(step, epoch, metrics)
        value = metrics[self.metric]
        if value < self.best:
            self.best = value
            state = torch.load(self.out / "checkpoint.pt", map_location="cpu", weights_only=False)
            state["selection"] = {"metric": self.metric, "value": value, "step": step}
            tmp = self.out / "best.pt.tmp"
            torch.save(state, tmp)
            tmp.replace(self.out / "best.pt")
            log.info("step %d: %s %.4g, the best so far -> best.pt", step, self.metric, value)
        return metrics


class RunLog:
    """Rank 0's records: ``metrics.csv``, ``timing.jsonl`` and TensorBoard events
    (``tensorboard --logdir RUN_DIR``: the averaged metrics and samples/s per step)."""

    def __init__(self, out: Path, append: bool = False) -> None:
        mode = "a" if append else "w"
        self.metrics_file = (out / "metrics.csv").open(mode, newline="")
        self.timing_file = (out / "timing.jsonl").open(mode)
        self.writer: csv.DictWriter | None = None
        self.totals = defaultdict(float)  # seconds summed over this run's steps
        self.has_header = append and (out / "metrics.csv").stat().st_size > 0
        self.evaluations = out / "evaluations.csv"
        if not append:
            self.evaluations.unlink(missing_ok=True)
        self.tensorboard = SummaryWriter(out)

    def timing(
        self,
        step: int,
        epoch: int,
        step_time: float,
        data_wait: float,
        allreduce: float,
        samples: int,
    ) -> None:
        record = {
            "step": step,
            "epoch": epoch,
            "step_time": step_time,
            "data_wait": data_wait,
            "allreduce": allreduce,
            "compute": step_time - data_wait - allreduce,
            "samples_per_s": samples / step_time,
        }
        for key in ("step_time", "data_wait", "allreduce"):
            self.totals[key] += record[key]
        self.timing_file.write(json.dumps(record) + "\n")
        self.tensorboard.add_scalar("timing/samples_per_s", record["samples_per_s"], step)

    def metrics(self, step: int, epoch: int, averaged: dict[str, float]) -> None:
        row = {"step": step, "epoch": epoch, **averaged}
        if self.writer is None:
            self.writer = csv.DictWriter(self.metrics_file, fieldnames=list(row))
            if not self.has_header:
                self.writer.writeheader()
        self.writer.writerow(row)
        for name, value in averaged.items():
            self.tensorboard.add_scalar(f"train/{name}", value, step)
        self.metrics_file.flush()
        self.timing_file.flush()

    def evaluation(self, step: int, epoch: int, metrics: dict[str, float]) -> None:
        row = pd.DataFrame([{"step": step, "epoch": epoch, **metrics}])
        if self.evaluations.is_file():  # a resumed run may add metrics: keep every column
            # round_trip: pandas' default float parser can be 1 ulp off, and the file is rewritten
            earlier = pd.read_csv(self.evaluations, float_precision="round_trip")
            row = pd.concat([earlier, row], ignore_index=True)
        row.to_csv(self.evaluations, index=False)
        for name, value in metrics.items():
            if math.isfinite(value):
                self.tensorboard.add_scalar(f"eval/{name}", value, step)

    def close(self) -> None:
        t = self.totals
        if t["step_time"] > 0:
            log.info(
                "time per step: %.1f%% waiting for data, %.1f%% in allreduce (timing.jsonl)",
                100 * t["data_wait"] / t["step_time"],
                100 * t["allreduce"] / t["step_time"],
            )
        self.metrics_file.close()
        self.timing_file.close()
        self.tensorboard.close()
