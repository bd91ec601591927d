"""The training loop in this process, on a one-rank torch.distributed world (Gloo over a
HashStore: the engine seam's one-process case), so that `make test-fast` reaches the loop,
checkpoints, records and the update path: cadences, a checkpoint written once per step, exact
resume, dropped records after a lost stretch, the non-finite skip. The task is the MPGAN on 120
real Pythia gluon jets (100 to train: 25 steps of 4 per epoch); the launched tests
(`test_faults.py`, `test_strong_scaling.py`) cover the same code on several processes.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from distributed import loop
from distributed.loop import train
from distributed.options import TrainOptions
from distributed.runtime import init_rank, leave_world
from distributed.train import main
from mpgan.model import MPGANModelOptions
from mpgan.task import MPGANOptions, MPGANTask


def mpgan(data: Path, out: Path, flags: str) -> list[str]:
    return (
        f"mpgan --data {data} --eval-jets 20 --metric-jets 8 --batch-size 4 --loader-workers 0 "
        f"--engine torch --out {out} {flags}"
    ).split()


@pytest.fixture
def saves(monkeypatch) -> list[int]:
    """The steps of every checkpoint.pt the loop writes (the real writer, counted)."""
    steps: list[int] = []
    save = loop.save_checkpoint

    def counted(path, models, optimizers, scalers, rngs, position, extra):
        steps.append(position.step)
        save(path, models, optimizers, scalers, rngs, position, extra)

    monkeypatch.setattr(loop, "save_checkpoint", counted)
    return steps


def steps_in(path: Path) -> list[int]:
    return pd.read_csv(path).step.tolist()


def test_cadences_and_one_checkpoint_per_step(tmp_path, gluon_file, saves):
    """Checkpoints every 3 steps, evaluations every 6, metrics every 4, 12 steps: where two
    cadences meet (6, 12: an evaluation, the last step) the checkpoint is written once."""
    out = tmp_path / "run"
    flags = "--steps 12 --checkpoint-every 3 --eval-every 6 --log-every 4"
    assert main(mpgan(gluon_file, out, flags)) == 0
    assert saves == [3, 6, 9, 12]
    assert steps_in(out / "metrics.csv") == [4, 8, 12]
    assert steps_in(out / "evaluations.csv") == [6, 12]
    assert len((out / "timing.jsonl").read_text().splitlines()) == 12
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == 12 and result["skipped_updates"] == 0
    assert math.isfinite(result["fpd"]) and math.isfinite(result["real_fpd"])
    best = torch.load(out / "best.pt", weights_only=False)
    assert best["selection"]["step"] in (6, 12) and best["config"]["code"]["model_version"] == 1


def test_a_resume_continues_exactly(tmp_path, gluon_file):
    """10 steps straight against 6 and a resume to 10 (within the first epoch), and 30 against
    20 and a resume to 30 (across the epoch end at 25): the same models, optimizer states and
    losses logged every 10 steps, bit for bit."""
    for steps, split in ((10, 6), (30, 20)):
        straight, resumed = tmp_path / f"straight{steps}", tmp_path / f"resumed{steps}"
        assert main(mpgan(gluon_file, straight, f"--steps {steps} --no-evaluate")) == 0
        assert main(mpgan(gluon_file, resumed, f"--steps {split} --no-evaluate")) == 0
        assert main(mpgan(gluon_file, resumed, f"--steps {steps} --no-evaluate")) == 0
        a = torch.load(straight / "checkpoint.pt", weights_only=False)
        b = torch.load(resumed / "checkpoint.pt", weights_only=False)
        assert a["step"] == b["step"] == steps
        for name, weights in a["models"].items():
            for key, value in weights.items():
                assert torch.equal(value, b["models"][name][key]), (steps, name, key)
        assert str(a["optimizers"]) == str(b["optimizers"])
        if split % 10 == 0:  # the same logging steps (a run also logs its last step)
            logged = pd.read_csv(straight / "metrics.csv")
            assert logged.equals(pd.read_csv(resumed / "metrics.csv"))


def test_a_resume_drops_the_records_of_the_lost_steps(tmp_path, gluon_file, saves):
    """A run that wrote records to step 8 but whose last checkpoint is at step 4 (killed after
    step 8, say): the resumed run drops the records of steps 5-8 and redoes them, once each."""
    out = tmp_path / "run"
    assert main(mpgan(gluon_file, out, "--steps 4 --log-every 1 --no-evaluate")) == 0
    shutil.copy(out / "checkpoint.pt", tmp_path / "at4.pt")
    assert main(mpgan(gluon_file, out, "--steps 8 --log-every 1 --no-evaluate")) == 0
    shutil.copy(tmp_path / "at4.pt", out / "checkpoint.pt")  # the last checkpoint before a kill
    assert main(mpgan(gluon_file, out, "--steps 10 --log-every 1 --no-evaluate")) == 0
    assert steps_in(out / "metrics.csv") == list(range(1, 11))
    timing = [json.loads(line)["step"] for line in (out / "timing.jsonl").read_text().splitlines()]
    assert timing == list(range(1, 11))
    assert saves == [4, 8, 10]  # (each run's last step; the resumes start from a checkpoint)


def test_non_finite_gradients_skip_the_update_and_stop_the_run(tmp_path, gluon_file):
    """A discriminator with NaN weights makes every gradient NaN: each update is skipped (no
    parameter changes, the skips counted), and --max-nonfinite in a row stops the run (checked
    after each step: D and G skip 2 a step, so a limit of 3 stops at 4)."""
    engine, info = init_rank("torch")
    try:
        task = MPGANTask(MPGANOptions(data=gluon_file, eval_jets=20), MPGANModelOptions())
        with torch.no_grad():
            next(task.models["discriminator"].parameters()).fill_(math.nan)
        before = {k: v.clone() for k, v in task.models["generator"].state_dict().items()}
        options = dict(batch_size=4, loader_workers=0, evaluate=False, log_every=1)
        result = train(task, TrainOptions(steps=2, **options), engine, info, None, 0, {})
        assert result["skipped_updates"] == 4  # D and G, two steps
        after = task.models["generator"].state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        with pytest.raises(
            FloatingPointError, match="4 consecutive non-finite gradients: stopping"
        ):
            stop = TrainOptions(steps=5, max_nonfinite=3, **options)
            train(task, stop, engine, info, None, 0, {})
    finally:
        leave_world()
