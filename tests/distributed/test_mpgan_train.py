"""MPGAN under real MPI launches (the GVAE tests use Gloo): the two-optimizer recipe under
``horovodrun --mpi`` and ``torchrun`` (DDP), a two-rank run under plain ``mpirun``; a SIGTERM
stopping a run."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch

from launch.compare_runs import main as compare_runs
from launch.environment import horovod_env
from tests.conftest import ROOT

PROBE_LAUNCHERS = {
    "horovodrun-mpi": "horovodrun -np 2 -H localhost:2 --mpi python",
    "torchrun": "torchrun --standalone --nproc-per-node 2",
}


@pytest.mark.parametrize("launcher", sorted(PROBE_LAUNCHERS))
def test_generator_phase_leaves_discriminator_alone(launch, tmp_path, gluon_file, launcher):
    proc = launch(
        f"{PROBE_LAUNCHERS[launcher]} tests/distributed/two_optimizers_probe.py "
        f"{gluon_file} {tmp_path}",
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for rank in (0, 1):
        result = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert result["g_phase_changed_g"] and not result["g_phase_changed_d"]
        assert not result["g_phase_changed_d_gradients"]
        assert result["d_phase_changed_d"] and not result["d_phase_changed_g"]
        assert result["requires_grad_restored"]
        assert result["spread_g"] == 0.0 and result["spread_d"] == 0.0  # averaged, identical


@pytest.mark.parametrize(
    "launcher", ["mpirun -np 2 python -m", "torchrun --standalone --nproc-per-node 2 -m"]
)
def test_mpgan_two_ranks_end_to_end(launch, tmp_path, gluon_file, launcher):
    """Both engines train and evaluate at the end; under mpirun also after every step (the
    evaluation schedule and best.pt do not depend on the engine: one launch checks them)."""
    out, every_step = tmp_path / "run", launcher.startswith("mpirun")
    proc = launch(
        f"{launcher} distributed.train mpgan "
        f"--data {gluon_file} --eval-jets 40 --steps 3 --batch-size 4 --log-every 1 --out {out} "
        f"--eval-every {1 if every_step else 0} --selection-metric fpd --metric-jets 20",
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    world = json.loads((out / "config.json").read_text())["world"]
    assert (world["engine"], world["controller"]) == (
        ("torch", "gloo") if launcher.startswith("torchrun") else ("horovod", "mpi")
    )
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == 3 and result["param_spread_between_ranks"] == 0.0
    assert result["metric_jets"] == 20 and result["eval_samples"] == 20
    for metric in ("w1m", "w1p", "w1efp", "fpd", "kpd", "cov", "mmd", "fpnd"):
        assert metric in result and f"real_{metric}" in result
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].split(",") == ["step", "epoch", "loss_d", "loss_g"] and len(metrics) == 4
    if not every_step:
        return
    # Evaluated after steps 1, 2 and at the end; best.pt holds the lowest FPD's models.
    evaluations = list(csv.DictReader((out / "evaluations.csv").open()))
    assert [int(e["step"]) for e in evaluations] == [1, 2, 3]
    best = torch.load(out / "best.pt", weights_only=False)
    fpds = [float(e["fpd"]) for e in evaluations]
    assert best["selection"]["metric"] == "fpd" and best["selection"]["value"] == min(fpds)
    assert best["selection"]["step"] == 1 + fpds.index(min(fpds)) == best["step"]
    assert set(best["models"]) == {"generator", "discriminator"}
    assert (out / "distributions.png").stat().st_size > 0 and (out / "checkpoint.pt").exists()
    # Two runs side by side (here the same one twice): curves, evaluations, step times.
    copy, compared = tmp_path / "copy", tmp_path / "compared"
    shutil.copytree(out, copy)
    assert compare_runs([str(out), str(copy), "--out", str(compared)]) == 0
    text = (tmp_path / "compared" / "comparison.md").read_text()
    assert "| 2 | run |" in text and "| 2 | copy |" in text and "| | real vs real |" in text
    assert (tmp_path / "compared" / "losses.png").stat().st_size > 0


@pytest.mark.slow
def test_sigterm_stops_the_run_and_its_loader_workers(tmp_path, gluon_file):
    out = tmp_path / "run"
    cmd = (
        f"{sys.executable} -m distributed.train mpgan --data {gluon_file} --eval-jets 40 "
        f"--steps 100000 --epochs 10000 --batch-size 4 --loader-workers 1 --log-every 1 "
        f"--no-evaluate --out {out}"
    )
    log = (tmp_path / "stderr.txt").open("w")  # a file, not a pipe that could fill and block
    proc = subprocess.Popen(
        cmd.split(), cwd=ROOT, env=horovod_env(), stdout=subprocess.DEVNULL, stderr=log
    )
    children = []
    try:
        deadline = time.monotonic() + 150
        while (
            not (out / "metrics.csv").is_file()
            or len((out / "metrics.csv").read_text().splitlines()) < 3
        ):  # training, so the loader worker is running
            assert proc.poll() is None and time.monotonic() < deadline, (
                tmp_path / "stderr.txt"
            ).read_text()[-2000:]
            time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children  # the loader worker (and its forkserver)
        proc.terminate()
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == []
    finally:
        log.close()
        if proc.poll() is None:
            proc.kill()
        for child in children:
            if child.is_running():
                child.kill()


@pytest.mark.slow
def test_a_wgan_row_resumes_exactly_on_two_ranks(launch, tmp_path, gluon_file):
    """TreeGAN + PointNet (WGAN-GP, Adam, 5 critic steps, 32 particles) under horovodrun at
    np 2: stopped after 3 steps and resumed to 8 = 8 straight steps (the critic schedule follows
    the data position: the generator trains at batches 1 and 6 either way)."""
    common = (
        f"horovodrun -np 2 -H localhost:2 --gloo python -m distributed.train mpgan "
        f"--generator treegan --discriminator pointnet-mix --data {gluon_file} --eval-jets 40 "
        f"--global-batch-size 8 --amp off --no-evaluate --log-every 1"
    )
    straight, split = tmp_path / "straight", tmp_path / "split"
    for cmd in (
        f"{common} --steps 8 --out {straight}",
        f"{common} --steps 3 --out {split}",
        f"{common} --steps 8 --out {split}",
    ):
        proc = launch(cmd, timeout=240)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (straight / "train.log").read_text()
    assert "loss=wgan-gp, gradient_penalty=10.0, optimizer=adam, betas=0.0,0.99" in log
    a = torch.load(straight / "checkpoint.pt", weights_only=False)
    b = torch.load(split / "checkpoint.pt", weights_only=False)
    for model in ("generator", "discriminator"):
        for name, tensor in a["models"][model].items():
            assert torch.equal(tensor, b["models"][model][name]), (model, name)
    rows = list(csv.DictReader((split / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    trained_g = [int(r["step"]) for r in rows if r["loss_g"]]
    assert trained_g == [2, 7]  # batches 1 and 6 (0-based) of the epoch
    assert all(float(r["gradient_penalty"]) > 0 for r in rows)
