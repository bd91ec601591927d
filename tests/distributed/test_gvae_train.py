"""The GVAE under real launches (horovodrun and torchrun): two ranks train, agree, and write a
full run directory; resumes are exact, and a run moves between engines."""

from __future__ import annotations

import csv
import json
import time

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gvae.report import main as report_main

LAUNCHERS = {
    "horovod": "horovodrun -np 2 -H localhost:2 --gloo python -m",
    "torch": "torchrun --standalone --nproc-per-node 2 -m",
}


@pytest.mark.parametrize("engine", sorted(LAUNCHERS))
def test_gvae_two_ranks_end_to_end(launch, tmp_path, calorimeter_file, engine):
    out = tmp_path / "run"
    start = time.monotonic()
    proc = launch(
        f"{LAUNCHERS[engine]} distributed.train gvae "
        f"--data {calorimeter_file} --eval-events 8 --epochs 2 --steps 6 --batch-size 4 "
        f"--log-every 3 --compression fp16 --scale-lr sqrt --warmup-steps 2 --out {out}",
        timeout=240,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == 6
    assert result["param_spread_between_ranks"] == 0.0  # every rank holds the same model
    assert result["emd_median_random_pair"] > 0 and result["emd_median_gvae"] > 0
    assert result["emd_events"] == 8  # all 8 held-out events (fewer than --emd-events 100)

    log = (out / "train.log").read_text()  # the run states how it scales, in one line each
    assert "global batch 8 = 4 per rank × 2 rank(s); 5 optimizer steps per epoch" in log
    assert "(×1.41, --scale-lr sqrt) after a 2-step warm-up from 1×" in log
    assert "weak scaling: a global batch 2× one process's, so 2× fewer optimizer steps" in log

    config = json.loads((out / "config.json").read_text())
    assert config["world"]["size"] == 2 and config["training"]["batch_size"] == 4
    assert config["training"]["compression"] == "fp16" and config["training"]["scale_lr"] == "sqrt"
    assert config["world"]["engine"] == engine and config["resumes"] == []
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 6]
    assert {"total", "position", "energy", "channel", "kl", "mincut", "ortho"} <= set(rows[0])
    timing = [json.loads(line) for line in (out / "timing.jsonl").read_text().splitlines()]
    assert [t["step"] for t in timing] == list(range(1, 7))
    events = EventAccumulator(str(out)).Reload()  # TensorBoard reads the same metrics back
    assert [e.step for e in events.Scalars("train/total")] == [3, 6]
    assert len(events.Scalars("timing/samples_per_s")) == 6
    parts = ("data_wait", "copy", "communication", "compute")
    for t in timing:  # two ranks really communicated, and the parts are times within the step
        assert t["communication"] > 0 and all(0 <= t[k] < t["step_time"] for k in parts)
        assert t["samples_per_s"] == pytest.approx(2 * 4 / t["step_time"])
    assert sum(t["step_time"] for t in timing) < elapsed  # within the run's wall time
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert set(state["models"]) == {"gvae"} and state["step"] == 6
    report = (out / "emd_report" / "report.md").read_text()
    assert "| all | gvae |" in report and "| all | random_pair |" in report
    assert report.startswith("# ") and "8 held-out events" in report and "emd_events" in report
    assert (out / "emd_report" / "events.png").stat().st_size > 0

    # The standalone report reads the checkpoint back.
    assert (
        report_main(
            [
                "--checkpoint",
                str(out / "checkpoint.pt"),
                "--events",
                "5",
                "--out",
                str(tmp_path / "again"),
            ]
        )
        == 0
    )
    summary = (tmp_path / "again" / "summary.csv").read_text()
    assert summary.count("\n") == 1 + 4 * 3  # header + 4 scopes × 3 methods


@pytest.mark.parametrize("engine", sorted(LAUNCHERS))
def test_two_half_batches_give_the_gradient_of_the_whole_batch(
    launch, tmp_path, calorimeter_file, engine
):
    """One update with np=2 on two halves of 8 events equals np=1 on all 8 (float tolerance)."""
    for np_ in (1, 2):
        prefix = {
            "horovod": f"horovodrun -np {np_} -H localhost:{np_} python",
            "torch": f"torchrun --standalone --nproc-per-node {np_}",
        }[engine]
        proc = launch(
            f"{prefix} tests/distributed/gradient_equivalence_probe.py {calorimeter_file} "
            f"{tmp_path} 8",
            timeout=180,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    one, two = (torch.load(tmp_path / f"{engine}-np{n}.pt") for n in (1, 2))
    scale = one["grad"].abs().max()
    assert (two["grad"] - one["grad"]).abs().max() < 1e-4 * scale
    assert torch.allclose(two["params"], one["params"], rtol=1e-5, atol=1e-7)
    assert abs(two["total"] - one["total"]) < 1e-5 * abs(one["total"])  # averaged over ranks
    # Each rank's half alone has a clearly different gradient: the average is what matches.
    assert (two["local_grad"] - one["grad"]).abs().max() > 1e-2 * scale


def test_missing_data_fails_fast_on_every_rank(launch, tmp_path):
    out = tmp_path / "run"
    start = time.monotonic()
    proc = launch(
        f"horovodrun -np 2 -H localhost:2 --gloo python -m distributed.train gvae "
        f"--data {tmp_path / 'nope.h5'} --out {out}",
        timeout=120,
    )
    assert proc.returncode != 0
    assert time.monotonic() - start < 60
    errors = [line for line in proc.stderr.splitlines() if "distributed.train: error:" in line]
    assert errors and all("nope.h5: no such E2E file" in line for line in errors)
    assert not out.exists()  # nothing half-written


def test_resume_continues_exactly(launch, tmp_path, calorimeter_file):
    """Stopped after 3 steps and resumed to 7 (crossing an epoch end) = 7 uninterrupted steps."""
    common = (
        f"python -m distributed.train gvae --data {calorimeter_file} --eval-events 8 "
        "--epochs 3 --batch-size 8 --no-evaluate --log-every 1"
    )  # 5 steps per epoch
    straight, split = tmp_path / "straight", tmp_path / "split"
    for cmd in (
        f"{common} --steps 7 --out {straight}",
        f"{common} --steps 3 --out {split}",
        f"{common} --steps 7 --out {split} --resume",
    ):
        proc = launch(cmd, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming after step 3" in proc.stderr
    resumes = json.loads((split / "config.json").read_text())["resumes"]
    assert [r["from_step"] for r in resumes] == [3] and "--resume" in resumes[0]["argv"]
    a = torch.load(straight / "checkpoint.pt", weights_only=False)
    b = torch.load(split / "checkpoint.pt", weights_only=False)
    assert a["step"] == b["step"] == 7
    for name, tensor in a["models"]["gvae"].items():
        assert torch.equal(tensor, b["models"]["gvae"][name]), name
    rows = list(csv.DictReader((split / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 8))  # appended, one header
    assert len((split / "timing.jsonl").read_text().splitlines()) == 7


def test_resume_without_checkpoint_is_one_line(launch, tmp_path):
    proc = launch(f"python -m distributed.train gvae --resume --out {tmp_path / 'none'}")
    assert proc.returncode == 2
    assert "--resume needs --out RUN_DIR with a checkpoint.pt" in proc.stderr


def test_a_run_moves_between_engines(launch, tmp_path, calorimeter_file):
    """Horovod to step 3, torchrun to 6, Horovod to 9: one run, continuous; the first step after
    each move sees the checkpoint's model exactly (its loss equals the straight run's)."""
    common = (
        f"distributed.train gvae --data {calorimeter_file} --eval-events 8 --epochs 3 "
        "--batch-size 4 --no-evaluate --log-every 1 --loader-workers 0"
    )
    moved, straight = tmp_path / "moved", tmp_path / "straight"
    for prefix, steps, out in (
        (LAUNCHERS["horovod"], 9, straight),
        (LAUNCHERS["horovod"], 3, moved),
        (LAUNCHERS["torch"], 6, moved),
        (LAUNCHERS["horovod"], 9, moved),
    ):
        proc = launch(f"{prefix} {common} --steps {steps} --out {out}", timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
    resumes = json.loads((moved / "config.json").read_text())["resumes"]
    assert [(r["from_step"], r["world"]["engine"]) for r in resumes] == [
        (3, "torch"),
        (6, "horovod"),
    ]
    losses = {
        out.name: [float(r["total"]) for r in csv.DictReader((out / "metrics.csv").open())]
        for out in (moved, straight)
    }
    assert len(losses["moved"]) == 9
    for step in (4, 7):  # the first step under the new engine: the same model, data and noise
        assert losses["moved"][step - 1] == pytest.approx(losses["straight"][step - 1], rel=1e-5)
    state = torch.load(moved / "checkpoint.pt", weights_only=False)
    adam_steps = {float(s["step"]) for s in state["optimizers"]["gvae"]["state"].values()}
    assert state["step"] == 9 and adam_steps == {9.0}


def test_a_gvae_run_imports_neither_the_mpgan_nor_jetnet(launch, tmp_path, calorimeter_file):
    """Models register themselves: the trainer imports only the model it runs."""
    probe = (
        "import atexit, runpy, sys; atexit.register(lambda: print('imported:', "
        "sorted({m.split('.')[0] for m in sys.modules} & {'mpgan', 'jetnet', 'gvae'}))); "
        "sys.argv = ['distributed.train', *sys.argv[1:]]; "
        "runpy.run_module('distributed.train', run_name='__main__')"
    )
    proc = launch(
        ["python", "-c", probe, "gvae", "--data", str(calorimeter_file), "--eval-events", "8",
         "--steps", "1", "--batch-size", "4", "--no-evaluate", "--out", str(tmp_path / "run")]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "imported: ['gvae']" in proc.stdout
