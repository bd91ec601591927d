"""No work lost: real processes killed mid-run.

- Horovod elastic: one of two workers SIGKILLed → the other finishes alone from the last commit,
  and its final model is what a one-rank continuation from that commit gives.
- torchrun: a worker SIGKILLed → torchrun restarts both → they resume from the checkpoint.
- The whole job SIGKILLed between the temporary checkpoint file and its rename → the previous
  checkpoint loads and ``--resume`` continues exactly.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from launch.environment import horovod_env
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

GVAE = "--eval-events 8 --batch-size 4 --log-every 1 --no-evaluate --loader-workers 0"


def start(cmd: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``cmd`` (``python``: this interpreter) in the repository root, output to ``log``."""
    parts = [sys.executable if p == "python" else p for p in cmd.split()]
    with log.open("w") as out:
        return subprocess.Popen(
            parts, cwd=ROOT, env={**horovod_env(), **(env or {})}, stdout=out, stderr=out
        )


def wait_for(condition, proc: subprocess.Popen, log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def rows(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def worker(launcher: subprocess.Popen, variable: str, rank: int) -> psutil.Process:
    """The worker process of ``rank`` (``variable`` in its environment names the rank)."""
    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            environ = child.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if environ.get(variable) == str(rank) and "distributed.train" in " ".join(child.cmdline()):
            return child
    raise AssertionError(f"no worker with {variable}={rank}")


def models(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=False)["models"]["gvae"]


def test_elastic_survivor_continues_from_the_last_commit(tmp_path, calorimeter_file):
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost:1\n127.0.0.1:1\n")  # two pseudo-hosts: one can be lost
    out, log = tmp_path / "elastic", tmp_path / "elastic.log"
    train = f"gvae --data {calorimeter_file} {GVAE} --steps 14 --epochs 4"
    proc = start(
        "horovodrun -np 2 --min-np 1 --max-np 2 --gloo --network-interface lo "
        "--host-discovery-script launch/discover_hosts.sh "
        f"python -m distributed.train {train} --elastic --commit-every 2 --out {out}",
        log,
        env={"ELASTIC_HOSTS": str(hosts)},
    )
    try:
        wait_for(lambda: rows(out / "metrics.csv") >= 6, proc, log)  # header + step 5
        worker(proc, "HOROVOD_RANK", 1).send_signal(signal.SIGKILL)
        assert proc.wait(timeout=240) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (out / "train.log").read_text()
    commit = int(re.search(r"world size now 1: continuing from the commit at step (\d+)", text)[1])
    assert 2 <= commit <= 12 and commit % 2 == 0
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 15))  # the lost steps after the commit were dropped and redone
    # A one-rank continuation from that commit: two ranks to the commit, then one to the end.
    reference = tmp_path / "reference"
    for cmd in (
        f"horovodrun -np 2 -H localhost:2 --gloo python -m distributed.train {train} "
        f"--steps {commit}",
        f"python -m distributed.train {train}",
    ):
        done = subprocess.run(
            f"{cmd} --out {reference}".split(), cwd=ROOT, env=horovod_env(), capture_output=True,
            text=True, timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    assert "checkpoint of 2 rank(s) resumed on 1" in (reference / "train.log").read_text()
    final, expected = models(out / "checkpoint.pt"), models(reference / "checkpoint.pt")
    for name, tensor in expected.items():
        assert torch.equal(final[name], tensor), name


def test_torchrun_restarts_workers_from_the_checkpoint(tmp_path, calorimeter_file):
    out, log = tmp_path / "run", tmp_path / "torchrun.log"
    proc = start(
        "torchrun --standalone --nproc-per-node 2 --max-restarts 1 -m distributed.train gvae "
        f"--data {calorimeter_file} {GVAE} --steps 60 --checkpoint-every 3 --out {out}",
        log,
    )
    try:
        wait_for(lambda: rows(out / "metrics.csv") >= 5, proc, log)  # a checkpoint at step 3
        worker(proc, "RANK", 1).send_signal(signal.SIGKILL)
        assert proc.wait(timeout=240) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (out / "train.log").read_text()
    resumed = re.search(r"resuming after step (\d+)", text)
    # Checkpoints: every 3 steps and at the epoch ends (5 steps of 2 × 4 of the 40 events); 60
    # steps, so that the kill (polled, not instant) lands before the end.
    at = int(resumed[1]) if resumed else 0
    assert 3 <= at < 60 and (at % 3 == 0 or at % 5 == 0) and "(torchrun restart 1)" in text
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 60
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 61))
    assert json.loads((out / "config.json").read_text())["resumes"][0]["from_step"] == at


def test_kill_during_checkpoint_write_keeps_the_previous_one(tmp_path, calorimeter_file):
    common = f"python -m distributed.train gvae --data {calorimeter_file} {GVAE} --epochs 2"
    out, log = tmp_path / "run", tmp_path / "killed.log"
    proc = start(
        f"{common} --steps 9 --checkpoint-every 3 --out {out}",
        log,
        env={"DISTRIBUTED_FAULT": "checkpoint-rename:6"},  # SIGKILL before the rename
    )
    assert proc.wait(timeout=180) == -signal.SIGKILL, log.read_text()[-3000:]
    assert (out / "checkpoint.pt.tmp").is_file()  # the step-6 file never replaced the old one
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 3
    done = subprocess.run(
        f"{common} --steps 9 --out {out} --resume".split(),
        cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    straight = tmp_path / "straight"
    done = subprocess.run(
        f"{common} --steps 9 --out {straight}".split(),
        cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    resumed, expected = models(out / "checkpoint.pt"), models(straight / "checkpoint.pt")
    for name, tensor in expected.items():
        assert torch.equal(resumed[name], tensor), name
