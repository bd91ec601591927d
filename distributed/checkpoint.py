"""Checkpoints that continue a run exactly and that a kill can never leave broken.

``checkpoint.pt`` holds the models, the optimizers (their own state dicts, whatever engine
wrapped them: a run started under Horovod resumes under torchrun and back), the grad scalers,
the :class:`~distributed.sampler.Position` in the data, the world size, every rank's random
streams (python, numpy, torch CPU and, on a GPU, CUDA) and the run's configuration.

Rank 0 writes ``checkpoint.pt.tmp``, flushes it to disk, then renames it over ``checkpoint.pt``:
a process killed at any moment leaves the previous checkpoint or the new one, never half of one.

On the same number of ranks a resume is exact: each rank continues its own random streams. On
another number (``--resume`` with a different ``-np``, an elastic reset) the data position and
the learning rate stay exact, and each rank's streams are reseeded from (seed, rank, step)
(:func:`reseed`): the old ranks' streams cannot be split or merged.
"""

from __future__ import annotations

import logging
import os
import random
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distributed.runtime import seed_rank
from distributed.sampler import Position
from storage.files import atomic_write, read_checkpoint

log = logging.getLogger(__name__)

# Fault injection for the tests: DISTRIBUTED_FAULT=checkpoint-rename:STEP SIGKILLs the writing
# process after the temporary file of the step-STEP checkpoint is complete, before the rename.
FAULT = "DISTRIBUTED_FAULT"


def rng_state() -> dict:
    """This process's python, numpy, torch and (with a GPU) CUDA random states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state()}
    state["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def reseed(seed: int, rank: int, step: int) -> None:
    """Fresh streams for ``rank`` from (seed, rank, step), after the world changed at ``step``."""
    seed_rank(int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0]))


def save_checkpoint(
    path: Path,
    models: Mapping[str, torch.nn.Module],
    optimizers: Mapping[str, Any],
    scalers: Mapping[str, torch.amp.GradScaler],
    rng: list[dict],
    position: Position,
    extra: dict,
) -> None:
    """Write the checkpoint (rank 0 only; ``rng``: every rank's :func:`rng_state`, by rank),
    atomically (:func:`storage.files.atomic_write`)."""
    state = {
        "models": {k: m.state_dict() for k, m in models.items()},
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "scalers": {k: s.state_dict() for k, s in scalers.items()},
        "rng": rng,
        "step": position.step,
        "position": vars(position),
        "world_size": len(rng),
        **extra,
    }

    def fault() -> None:  # the tests' kill between a complete temporary file and the rename
        if os.environ.get(FAULT) == f"checkpoint-rename:{position.step}":
            os.kill(os.getpid(), signal.SIGKILL)

    atomic_write(path, lambda f: torch.save(state, f), before_rename=fault)


def load_checkpoint(
    path: Path,
    models: Mapping[str, torch.nn.Module],
    optimizers: Mapping[str, Any],
    scalers: Mapping[str, torch.amp.GradScaler],
    rank: int,
    size: int,
    seed: int,
) -> Position:
    """Restore what :func:`save_checkpoint` wrote (call on every rank); returns the position.
    Raises ``ValueError`` for a damaged or cut-short file (:func:`storage.files.read_checkpoint`).
    """
    state = read_checkpoint(path)
    for name, model in models.items():
        model.load_state_dict(state["models"][name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, scaler in scalers.items():
        scaler.load_state_dict(state["scalers"][name])
    position = Position(**state["position"])
    if len(state["rng"]) == size:
        set_rng_state(state["rng"][rank])
    else:
        reseed(seed, rank, position.step)
        if rank == 0:
            log.warning(
                "checkpoint of %d rank(s) resumed on %d: the data position and learning rate "
                "continue exactly; random streams reseeded from (seed, rank, step %d)",
                len(state["rng"]),
                size,
                position.step,
            )
    return position
