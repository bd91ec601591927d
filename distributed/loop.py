"""The one Horovod training loop both models use — the whole distributed recipe on one page.

    hvd.init, pin threads/GPU, seed             (distributed.runtime.init_horovod, by the caller)
    wrap each optimizer: hvd.DistributedOptimizer(named_parameters=…)
    broadcast parameters and optimizer state from rank 0
    shard the data: DistributedSampler (same global order for a seed, whatever the world size)
    DataLoader workers build and collate graphs while the step runs (on-the-fly batching)
    per step: autocast → task.step → per phase: scale → backward → synchronize (allreduce)
              → unscale → clip → step (skip_synchronize) → scaler.update
    rank 0: progress bar, metrics.csv, timing.jsonl, checkpoint (atomic), report

Per-step timing lines (``timing.jsonl``, one JSON object per step, rank 0) hold ``step_time``
(wall time of the whole step), ``data_wait`` (blocked on the loader), ``allreduce`` (inside
``optimizer.synchronize()``), ``compute`` (the rest) and ``samples_per_s`` (global).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import horovod.torch as hvd
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
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
    log_every: int = field(default=10, metadata={"help": "steps between metric averages"})
    evaluate: bool = field(
        default=True, metadata={"help": "evaluate and write the model's report at the end"}
    )
    max_nonfinite: int = field(
        default=10, metadata={"help": "stop after this many consecutive non-finite losses"}
    )

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.steps < 0 or self.batch_size < 1 or self.log_every < 1:
            raise ValueError("need epochs >= 1, steps >= 0, batch_size >= 1, log_every >= 1")


def amp_dtype(amp: str, device: str) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` on ``device`` (None = full precision)."""
    if amp == "auto":
        amp = "fp16" if device.startswith("cuda") else "off"
    if amp == "fp16" and not device.startswith("cuda"):
        raise ValueError("--amp fp16 needs CUDA; use --amp bf16 on CPU")
    return AMP_DTYPES.get(amp)


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


def distributed_optimizers(task: Task) -> dict[str, Any]:
    """Wrap each task optimizer in Horovod's, with parameter names prefixed by the model name."""
    wrapped = {}
    for name, optimizer in task.optimizers.items():
        named = [(f"{name}.{n}", p) for n, p in task.models[name].named_parameters()]
        wrapped[name] = hvd.DistributedOptimizer(optimizer, named_parameters=named)
    return wrapped


def broadcast_state(task: Task, optimizers: dict[str, Any]) -> None:
    """Rank 0's parameters and optimizer state on every rank."""
    for model in task.models.values():
        hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    for optimizer in optimizers.values():
        hvd.broadcast_optimizer_state(optimizer, root_rank=0)


def save_checkpoint(path: Path, task: Task, optimizers: dict[str, Any], state: dict) -> None:
    """Models, optimizers and loop state, written atomically (temporary file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "models": {k: m.state_dict() for k, m in task.models.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            **state,
        },
        tmp,
    )
    tmp.replace(path)


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
    task: Task, cfg: TrainConfig, info: RankInfo, out: Path, seed: int, config_record: dict
) -> dict[str, float]:
    """Train ``task`` under Horovod; rank 0 writes metrics, timing, checkpoint and report to
    ``out``. Returns the final evaluation metrics (rank 0; other ranks get {})."""
    device = torch.device(info.device)
    dtype = amp_dtype(cfg.amp, info.device)
    optimizers = distributed_optimizers(task)
    broadcast_state(task, optimizers)
    updater = Updater(task, optimizers, dtype, cfg.clip_grad)

    sampler = DistributedSampler(
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
    )
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(
            f"{len(task.train_set)} training items are fewer than one batch of "
            f"{cfg.batch_size} per rank on {info.size} rank(s)"
        )
    total = steps_per_epoch * cfg.epochs
    total = min(total, cfg.steps) if cfg.steps else total
    log.info(
        "%d step(s): %d epoch(s) × %d steps of %d per rank; amp %s; %d loader worker(s)",
        total,
        cfg.epochs,
        steps_per_epoch,
        cfg.batch_size,
        dtype,
        cfg.loader_workers,
    )

    metrics_file = timing_file = None
    if info.is_root:
        metrics_file = (out / "metrics.csv").open("w", newline="")
        timing_file = (out / "timing.jsonl").open("w")
    writer = None
    sums: dict[str, float] = defaultdict(float)
    count = step = 0
    bar = tqdm(total=total, unit="step", disable=not info.is_root, dynamic_ncols=True)
    for model in task.models.values():
        model.train()
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        batches = iter(loader)
        while step < total:
            start = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                break
            batch = move(batch, device)
            data_wait = time.perf_counter() - start
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
            if info.is_root:
                timing_file.write(
                    json.dumps(
                        {
                            "step": step,
                            "epoch": epoch,
                            "step_time": step_time,
                            "data_wait": data_wait,
                            "allreduce": updater.allreduce_time,
                            "compute": step_time - data_wait - updater.allreduce_time,
                            "samples_per_s": cfg.batch_size * info.size / step_time,
                        }
                    )
                    + "\n"
                )
            if step % cfg.log_every == 0 or step == total:
                averaged = allreduce_metrics(sums, count)
                sums.clear()
                count = 0
                if info.is_root:
                    row = {"step": step, "epoch": epoch, **averaged}
                    if writer is None:
                        writer = csv.DictWriter(metrics_file, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(row)
                    metrics_file.flush()
                    timing_file.flush()
                    bar.set_postfix(
                        {
                            k: f"{v:.3g}"
                            for k, v in averaged.items()
                            if k in ("total", "loss_d", "loss_g")
                        }
                    )
            bar.update(1)
        if step >= total:
            break
    bar.close()
    spread = parameter_spread(task)  # every rank must end with the same model

    results: dict[str, float] = {}
    if info.is_root:
        metrics_file.close()
        timing_file.close()
        state = {"epoch": epoch, "step": step, "config": config_record}
        save_checkpoint(out / "checkpoint.pt", task, optimizers, state)
        for model in task.models.values():
            model.eval()
        results = {"steps": step, "param_spread_between_ranks": spread}
        if cfg.evaluate:
            results.update(task.evaluate())
        log.info(
            "evaluation: %s",
            ", ".join(f"{k} {v:.4g}" for k, v in results.items() if math.isfinite(v)),
        )
        if cfg.evaluate:
            task.report(out)
    return results
