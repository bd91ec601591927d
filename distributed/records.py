"""Rank 0's records of a run: metrics, per-step timing, evaluations and the best model.

- ``metrics.csv``: the task's step metrics averaged over ranks every ``--log-every`` steps;
- ``timing.jsonl``: one JSON object per step (see :meth:`RunLog.timing`);
- ``evaluations.csv`` and ``best.pt``: every evaluation, and the checkpoint with the lowest
  selection metric (:class:`BestModel`);
- TensorBoard event files with the same numbers (``tensorboard --logdir RUN_DIR``).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import defaultdict
from pathlib import Path

import pandas as pd
import torch
from torch.utils.tensorboard import SummaryWriter

from distributed.task import Task
from storage.files import atomic_write, read_checkpoint

log = logging.getLogger(__name__)


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
            saved = read_checkpoint(out / "best.pt")["selection"]
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
            state = read_checkpoint(self.out / "checkpoint.pt")
            state["selection"] = {"metric": self.metric, "value": value, "step": step}
            atomic_write(self.out / "best.pt", lambda f: torch.save(state, f))
            log.info("step %d: %s %.4g, the best so far -> best.pt", step, self.metric, value)
        return metrics


class RunLog:
    """Rank 0's records: ``metrics.csv``, ``timing.jsonl`` and TensorBoard events
    (``tensorboard --logdir RUN_DIR``: the averaged metrics and samples/s per step)."""

    def __init__(self, out: Path, append: bool = False, from_step: int = 0) -> None:
        """``append``: continue the files of a run resumed at ``from_step``; their records of
        later steps (work lost since that checkpoint or commit) are dropped first."""
        if append:
            drop_records_after(out, from_step)
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

    def timing(self, step: int, epoch: int, seconds: dict[str, float], samples: int) -> None:
        """One line of ``timing.jsonl``: ``step_time`` (wall time of the whole step) and where it
        went — ``data_wait`` (blocked on the loader), ``copy`` (host → device), ``communication``
        (from the last local gradient to the averaged gradients, plus the metric allreduce on
        logging steps) and ``compute`` (the rest) — and ``samples_per_s`` (all ranks)."""
        record = {"step": step, "epoch": epoch, **seconds}
        record["compute"] = record["step_time"] - sum(
            record[k] for k in ("data_wait", "copy", "communication")
        )
        record["samples_per_s"] = samples / record["step_time"]
        for key in ("step_time", "data_wait", "copy", "communication"):
            self.totals[key] += record[key]
        self.timing_file.write(json.dumps(record) + "\n")
        self.tensorboard.add_scalar("timing/samples_per_s", record["samples_per_s"], step)

    def metrics(self, step: int, epoch: int, averaged: dict[str, float]) -> None:
        """One row of ``metrics.csv``; a metric first reported now (a phase that skipped the
        first steps, n_critic) adds its column, the earlier rows left empty there."""
        row = {"step": step, "epoch": epoch, **averaged}
        if self.writer is None:  # the columns of the file being continued, or of this row
            header = list(row)
            if self.has_header:
                with open(self.metrics_file.name, newline="") as existing:
                    header = next(csv.reader(existing))
            self.writer = csv.DictWriter(self.metrics_file, fieldnames=header, restval="")
            if not self.has_header:
                self.writer.writeheader()
        if not set(row) <= set(self.writer.fieldnames):
            self._add_columns(row)
        self.writer.writerow(row)
        for name, value in averaged.items():
            self.tensorboard.add_scalar(f"train/{name}", value, step)
        self.metrics_file.flush()
        self.timing_file.flush()

    def _add_columns(self, row: dict) -> None:
        """Rewrite ``metrics.csv`` with ``row``'s new columns and reopen it for appending."""
        path = Path(self.metrics_file.name)
        self.metrics_file.close()
        table = pd.read_csv(path, float_precision="round_trip")
        columns = list(table.columns) + [k for k in row if k not in table.columns]
        atomic_write(path, table.reindex(columns=columns).to_csv(index=False))
        self.metrics_file = path.open("a", newline="")
        self.writer = csv.DictWriter(self.metrics_file, fieldnames=columns, restval="")

    def evaluation(self, step: int, epoch: int, metrics: dict[str, float]) -> None:
        row = pd.DataFrame([{"step": step, "epoch": epoch, **metrics}])
        if self.evaluations.is_file():  # a resumed run may add metrics: keep every column
            # round_trip: pandas' default float parser can be 1 ulp off, and the file is rewritten
            earlier = pd.read_csv(self.evaluations, float_precision="round_trip")
            row = pd.concat([earlier, row], ignore_index=True)
        atomic_write(self.evaluations, row.to_csv(index=False))
        for name, value in metrics.items():
            if math.isfinite(value):
                self.tensorboard.add_scalar(f"eval/{name}", value, step)

    def close(self) -> None:
        t = self.totals
        if t["step_time"] > 0:
            log.info(
                "time per step: %.1f%% waiting for data, %.1f%% copying to the device, %.1f%% "
                "communicating (timing.jsonl)",
                *(100 * t[k] / t["step_time"] for k in ("data_wait", "copy", "communication")),
            )
        self.metrics_file.close()
        self.timing_file.close()
        self.tensorboard.close()


def drop_records_after(out: Path, step: int) -> None:
    """Remove the lines of steps after ``step`` from a run's metrics, timing and evaluations
    (each file rewritten atomically: a kill leaves the old one or the new one)."""
    for name in ("metrics.csv", "evaluations.csv"):
        path = out / name
        if path.is_file() and path.stat().st_size:
            table = pd.read_csv(path, float_precision="round_trip")
            atomic_write(path, table[table.step <= step].to_csv(index=False))
    timing = out / "timing.jsonl"
    if timing.is_file():
        kept = []
        for line in timing.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line + "\n")
            except json.JSONDecodeError:  # the last line of a killed process
                continue
        atomic_write(timing, "".join(kept))
