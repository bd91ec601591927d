"""Read the per-step timing lines (``timing.jsonl``) that ``distributed.train`` writes on rank 0."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def read_timing(path: Path, warmup: int = 0) -> pd.DataFrame:
    """Timing lines of one run as a table, without the first ``warmup`` steps.

    Columns: step, epoch, step_time, data_wait, copy, communication, compute (seconds),
    samples_per_s.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no timing file (did the run finish?)")
    table = pd.DataFrame([json.loads(line) for line in path.read_text().splitlines() if line])
    if len(table) <= warmup:
        raise ValueError(f"{path}: {len(table)} steps recorded, need more than {warmup} (warm-up)")
    return table.iloc[warmup:].reset_index(drop=True)


def summarise_timing(table: pd.DataFrame, samples_per_step: int) -> dict[str, float]:
    """One run's timing lines summed up: steps, execution time ``time_s`` (Σ step time), the
    mean step and its parts in ms, throughput (all ranks) and the shares of data wait,
    host → device copy and communication in the step time."""
    total = table.step_time.sum()
    return {
        "steps": len(table),
        "time_s": total,
        "step_ms": 1e3 * table.step_time.mean(),
        "step_ms_std": 1e3 * table.step_time.std(ddof=0),
        "compute_ms": 1e3 * table.compute.mean(),
        "communication_ms": 1e3 * table.communication.mean(),
        "data_wait_ms": 1e3 * table.data_wait.mean(),
        "samples_per_s": samples_per_step * len(table) / total,
        "data_wait_share": table.data_wait.sum() / total,
        "copy_share": table["copy"].sum() / total,
        "communication_share": table.communication.sum() / total,
    }
