"""No work lost: real processes killed mid-run, with the README's commands.

- Horovod elastic, one machine: one of two workers SIGKILLed → the other finishes alone from the
  last commit, and its final model is what a one-rank continuation from that commit gives.
- torchrun --max-restarts: a worker SIGKILLed → torchrun restarts both → they resume from the
  checkpoint.
- The whole job SIGKILLed between the temporary checkpoint file and its rename → the previous
  checkpoint loads and ``--resume`` continues exactly.
- The run directory's file system full mid-run or from the start, or read-only → one line, the
  previous checkpoint intact; with space freed (writable again) the same command resumes.
- A data-loader worker SIGKILLed → one line saying what to do, nothing of the job left running.
- A rank SIGKILLed under horovodrun or torchrun → the job ends, no process of it left running.
- Horovod elastic, the MPGAN with a loader worker and ``--gloo``: a worker SIGKILLed → the
  other finishes from the last commit.
- A bad input under torchrun → every rank exits with its line, none aborts.
- The README's torchrun rendezvous port held by a listener that never answers → one line.
- A Slurm job preempted (SIGTERM) and requeued with no ``--out`` → it resumes in its directory.
- A second run given a run directory a live run writes → refused at once, the first unaffected.
- A resume with other code → said in one line and recorded; with another model definition →
  refused.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import psutil
import pytest
import torch

from launch.environment import horovod_env
from tests.conftest import ROOT, readme_command

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


def survive_a_killed_worker(
    proc: subprocess.Popen, log: Path, metrics: Path, after_step: int, timeout: float
) -> None:
    """An elastic job: SIGKILL Horovod rank 1 once ``metrics`` has ``after_step`` rows, then
    the job must finish (exit 0) within ``timeout`` seconds."""
    try:
        wait_for(lambda: rows(metrics) >= after_step + 1, proc, log)  # (+ the header)
        worker(proc, "HOROVOD_RANK", 1).send_signal(signal.SIGKILL)
        assert proc.wait(timeout=timeout) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()


def models(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=False)["models"]["gvae"]


def test_readme_elastic_command_survives_a_killed_worker(tmp_path, calorimeter_file):
    """The README's one-machine elastic command, as written (its run bounded by --steps): one
    of two workers SIGKILLed, the other finishes alone from the last commit (exit 0, a
    checkpoint), with the model a one-rank continuation from that commit gives."""
    out, log = tmp_path / "elastic", tmp_path / "elastic.log"
    command = readme_command("horovodrun -np 2 --min-np 1 --max-np 2 --network-interface lo")
    assert "--commit-every 20 --out runs/elastic" in command
    train = f"--data {calorimeter_file} {GVAE} --steps 60 --epochs 20"  # 5 steps per epoch
    proc = start(command.replace("--out runs/elastic", f"--out {out} {train}"), log)
    survive_a_killed_worker(proc, log, out / "metrics.csv", after_step=25, timeout=240)
    text = (out / "train.log").read_text()
    commit = int(re.search(r"world size now 1: continuing from the commit at step (\d+)", text)[1])
    assert commit in (20, 40)
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 60
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 61))  # the lost steps after the commit were dropped and redone
    # A one-rank continuation from that commit: two ranks to the commit, then one to the end.
    reference = tmp_path / "reference"
    gvae = f"gvae {train} --commit-every 20"
    for cmd in (
        f"horovodrun -np 2 -H localhost:2 --gloo python -m distributed.train {gvae} "
        f"--steps {commit}",
        f"python -m distributed.train {gvae}",
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


def test_readme_torchrun_restarts_workers_from_the_checkpoint(tmp_path, calorimeter_file):
    """The README's ``torchrun --max-restarts`` command (bounded by --steps): a worker
    SIGKILLed, torchrun restarts both, they resume from the checkpoint and finish."""
    out, log = tmp_path / "run", tmp_path / "torchrun.log"
    command = readme_command("torchrun --standalone --nproc-per-node 2 --max-restarts 3")
    train = f"--data {calorimeter_file} {GVAE} --steps 60 --checkpoint-every 3"
    proc = start(command.replace("--out runs/r", f"--out {out} {train}"), log)
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


def run(cmd: str, timeout: float = 180) -> subprocess.CompletedProcess:
    parts = [sys.executable if p == "python" else p for p in cmd.split()]
    return subprocess.run(
        parts, cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=timeout
    )


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "error:" in line]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_bad_inputs_fail_in_one_line_before_anything_is_written(tmp_path, gluon_file):
    """A damaged data file; a resume with other model options; a checkpoint cut short (to the
    trainer and to every tool that reads checkpoints): exit 2, one line naming the file and
    the problem, and the run directory as it was."""
    damaged = tmp_path / "damaged.hdf5"
    damaged.write_bytes(gluon_file.read_bytes())
    with h5py.File(damaged, "r") as f:
        info = f["particle_features"].id.get_chunk_info(0)
    with damaged.open("r+b") as raw:
        raw.seek(info.byte_offset + info.size // 2)
        raw.write(b"\xff" * 64)
    fresh = tmp_path / "fresh"
    proc = run(f"python -m distributed.train mpgan --data {damaged} --steps 2 --out {fresh}")
    assert proc.returncode == 2 and len(error_lines(proc)) == 1, proc.stderr[-2000:]
    assert "damaged.hdf5: dataset 'particle_features' cannot be read" in proc.stderr
    assert not fresh.exists()

    out = tmp_path / "run"
    mpgan = f"python -m distributed.train mpgan --data {gluon_file} --eval-jets 40 --no-evaluate"
    assert run(f"{mpgan} --global-batch-size 8 --steps 2 --out {out}").returncode == 0
    before = snapshot(out)
    proc = run(f"{mpgan} --global-batch-size 8 --steps 4 --condition pt --out {out}")
    assert proc.returncode == 2 and len(error_lines(proc)) == 1, proc.stderr[-2000:]
    assert "was trained with other options (--condition '' → 'pt')" in proc.stderr
    assert snapshot(out) == before  # config.json untouched, no resume recorded

    checkpoint = out / "checkpoint.pt"
    checkpoint.write_bytes(before["checkpoint.pt"][:2000])
    cut = snapshot(out)
    for command in (
        f"{mpgan} --global-batch-size 8 --steps 4 --out {out}",
        f"python -m mpgan.generate --checkpoint {checkpoint} -n 10 --out {tmp_path / 'g.h5'}",
        f"python -m mpgan.report --checkpoint {checkpoint} --out {tmp_path / 'report'}",
        f"python -m gvae.report --checkpoint {checkpoint}",
    ):
        proc = run(command)
        assert proc.returncode == 2 and len(error_lines(proc)) == 1, command + proc.stderr
        assert "checkpoint.pt: not a readable checkpoint, cut short or damaged" in proc.stderr
    assert snapshot(out) == cut and not (tmp_path / "g.h5").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 1 MiB at ``tmp_path / "disk"`` (room for one GVAE checkpoint of 0.6 MB, not
    for its replacement beside it; mounting needs root, as the two-node tests' namespaces), as
    (folder, resize): ``resize(mib)`` gives it more room."""
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)

    def resize(mib: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={mib}m", str(folder)], check=True)

    try:
        yield folder, resize
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_fails_in_one_line_and_the_same_command_resumes(small_disk, calorimeter_file):
    """User report row 6: a 15-frame traceback from torch's zip writer; now one line naming the
    file, the previous checkpoint intact, no temporary file, and after freeing space the same
    command resumes."""
    disk, resize = small_disk
    out = disk / "run"
    common = f"python -m distributed.train gvae --data {calorimeter_file} {GVAE} --epochs 3"
    command = f"{common} --steps 12 --checkpoint-every 3 --out {out}"
    first = run(command)
    assert first.returncode == 1, first.stderr[-3000:]
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    (line,) = error_lines(first)
    assert "no space left on device" in line and str(out) in line
    assert not list(out.glob("*.tmp"))
    step = torch.load(out / "checkpoint.pt", weights_only=False)["step"]
    assert 3 <= step < 12  # the last checkpoint that fitted
    resize(64)  # space freed: the same command goes on from that checkpoint
    done = run(command)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming from {out / 'checkpoint.pt'}" in (out / "train.log").read_text()
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 12


def test_a_disk_full_from_the_start_fails_in_one_line(small_disk, calorimeter_file):
    disk, _ = small_disk
    with (disk / "filler").open("wb") as f:  # fill it
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    proc = run(f"python -m distributed.train gvae --data {calorimeter_file} {GVAE} --steps 2 "
               f"--out {disk / 'run'}")  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    (line,) = error_lines(proc)
    assert "no space left on device" in line


def test_a_read_only_run_directory_fails_in_one_line_and_resumes_when_writable(
    small_disk, calorimeter_file
):
    """A run directory whose file system became read-only (a remount after disk errors): one
    line naming the file and the cause, nothing changed; writable again, the run resumes."""
    disk, resize = small_disk
    resize(64)
    out = disk / "run"
    command = f"python -m distributed.train gvae --data {calorimeter_file} {GVAE} --out {out}"
    assert run(f"{command} --steps 2").returncode == 0
    before = snapshot(out)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    proc = run(f"{command} --steps 4")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    (line,) = error_lines(proc)
    assert f"{out}" in line and "read-only file system" in line, line
    subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    assert snapshot(out) == before
    assert run(f"{command} --steps 4").returncode == 0
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 4


def test_a_killed_loader_worker_fails_in_one_line(tmp_path, gluon_file):
    """User report row 3: a 19-frame traceback ending "DataLoader worker (pid(s) …) exited
    unexpectedly"; now one line saying what died, how, and what to do."""
    out, log = tmp_path / "run", tmp_path / "run.log"
    proc = start(
        f"python -m distributed.train mpgan --data {gluon_file} --eval-jets 20 --batch-size 4 "
        f"--log-every 1 --no-evaluate --loader-workers 1 --steps 400 --engine torch --out {out}",
        log,
    )
    try:
        wait_for(lambda: rows(out / "metrics.csv") >= 11, proc, log)  # header + step 10
        # The worker is the forkserver's child (the forkserver and the resource tracker are
        # the training process's own); each epoch (25 steps) starts a new one.
        loaders: list[psutil.Process] = []
        while not loaders:
            family = psutil.Process(proc.pid).children(recursive=True)
            loaders = [child for child in family if child.ppid() != proc.pid]
        killed = loaders[0].pid
        loaders[0].send_signal(signal.SIGKILL)
        assert proc.wait(timeout=120) == 1, log.read_text()[-3000:]
        deadline = time.monotonic() + 10  # nothing of the job left running
        while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family):
            assert time.monotonic() < deadline, [p.cmdline() for p in family if p.is_running()]
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    (line,) = [line for line in text.splitlines() if "error:" in line]
    assert "a data-loader worker process" in line, line
    # PyTorch names the worker when it notices it gone; when it dies while handing over a
    # batch, PyTorch sees a reset connection and no pid.
    assert "(pid" not in line or str(killed) in line, line
    assert "--loader-workers 0" in line


def test_a_requeued_slurm_job_resumes_in_its_run_directory(tmp_path, gluon_file):
    """User report row 5: ``launch/slurm/train.sbatch`` with no ``--out``, preempted (SIGTERM)
    and requeued (same job id, ``SLURM_RESTART_COUNT=1``) started over in a new run directory;
    now the requeued job finds the first one's and resumes from its last checkpoint."""
    runs, log = tmp_path / "runs", tmp_path / "job.log"
    env = {"SLURM_JOB_ID": "777", "SLURM_NTASKS": "1", "RUNS": str(runs)}
    command = (
        f"bash launch/slurm/train.sbatch mpgan --data {gluon_file} --eval-jets 20 "
        "--batch-size 4 --log-every 1 --no-evaluate --loader-workers 0 --steps 100 "
        "--checkpoint-every 4"
    )
    out = runs / "slurm-777-mpgan"
    job = start(command, log, env)
    try:
        wait_for(lambda: rows(out / "metrics.csv") >= 13, job, log)  # header + step 12
        job.send_signal(signal.SIGTERM)  # Slurm's preemption, through mpirun to the rank
        job.wait(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
    stopped_at = torch.load(out / "checkpoint.pt", weights_only=False)["step"]
    assert 12 <= stopped_at < 100
    requeued = start(command, tmp_path / "requeued.log", {**env, "SLURM_RESTART_COUNT": "1"})
    assert requeued.wait(timeout=180) == 0, (tmp_path / "requeued.log").read_text()[-3000:]
    assert [p.name for p in runs.iterdir()] == [out.name]  # one run directory, not two
    assert f"resuming from {out / 'checkpoint.pt'}" in (out / "train.log").read_text()
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 100
    resumes = json.loads((out / "config.json").read_text())["resumes"]
    assert [r["from_step"] for r in resumes] == [stopped_at]


def test_a_second_run_in_a_live_run_directory_is_refused(tmp_path, gluon_file):
    """User report row 11: the same command started twice on one ``--out`` interleaved both
    runs' metrics (71 rows, 13 steps twice) and recorded a resume; now the second is refused at
    once in one line naming the live run's host and pid, and the first finishes unaffected.
    When it has ended, the same command resumes there (the lock died with its holder)."""
    out, log = tmp_path / "run", tmp_path / "first.log"
    command = (
        f"python -m distributed.train mpgan --data {gluon_file} --eval-jets 20 --batch-size 4 "
        f"--epochs 400 --log-every 1 --no-evaluate --loader-workers 0 --steps 300 "
        f"--checkpoint-every 5 --engine torch --out {out}"
    )
    first = start(command, log)
    try:
        wait_for(lambda: (out / "checkpoint.pt").is_file(), first, log)
        second = run(command)
        assert first.poll() is None, "the first run must still be training"
        assert second.returncode == 2, second.stderr[-3000:]
        (line,) = error_lines(second)
        assert f"{out} is in use by a live run" in line and f"pid {first.pid}," in line, line
        assert first.wait(timeout=180) == 0, log.read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
    steps = [int(r.split(",")[0]) for r in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 301))  # one run's history: every step once, in order
    assert json.loads((out / "config.json").read_text())["resumes"] == []
    again = run(command.replace("--steps 300", "--steps 305"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming from {out / 'checkpoint.pt'}" in (out / "train.log").read_text()


def test_a_resume_with_other_code_is_said_and_recorded(tmp_path, gluon_file):
    """User report row 12: a run resumed after the code changed (and generated from) said
    nothing and recorded no code version; now every checkpoint and config.json entry records
    it, a resume by other code says so in one line and records it, a checkpoint of another
    model definition is refused, and one from before versions were kept is resumed with a
    warning."""
    out = tmp_path / "run"
    mpgan = (
        f"python -m distributed.train mpgan --data {gluon_file} --eval-jets 20 --batch-size 4 "
        f"--no-evaluate --loader-workers 0 --engine torch --out {out}"
    )
    assert run(f"{mpgan} --steps 2").returncode == 0
    code = json.loads((out / "config.json").read_text())["code"]
    assert code["model_version"] == 1 and len(code["commit"].removesuffix("+dirty")) == 40
    path = out / "checkpoint.pt"
    assert torch.load(path, weights_only=False)["config"]["code"] == code

    def rewrite(change) -> None:
        state = torch.load(path, weights_only=False)
        change(state["config"])
        torch.save(state, path)

    rewrite(lambda config: config["code"].update(model_version=0))
    before = snapshot(out)
    refused = run(f"{mpgan} --steps 4")
    assert refused.returncode == 2, refused.stderr[-3000:]
    (line,) = error_lines(refused)
    assert "was written by model definition 0" in line and "definition 1" in line, line
    assert snapshot(out) == before

    rewrite(lambda config: config["code"].update(model_version=1, commit="0f0a8d7"))
    assert run(f"{mpgan} --steps 4").returncode == 0
    change = f"{path} was written by commit 0f0a8d7 (package 0.1.0), resumed by commit"
    assert change in (out / "train.log").read_text()
    (resumed,) = json.loads((out / "config.json").read_text())["resumes"]
    assert resumed["code_change"].startswith(change) and resumed["code"] == code

    rewrite(lambda config: config.pop("code"))  # a checkpoint of the code before 2026-12-06
    assert run(f"{mpgan} --steps 6").returncode == 0
    assert f"{path} records no code version" in (out / "train.log").read_text()


def job_processes(tag: str) -> list[psutil.Process]:
    """The live processes whose environment carries ``JOB_TAG=tag`` (every process a job
    started inherits it: ranks, forkservers, loader workers, resource trackers)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("JOB_TAG") == tag and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize(
    "launcher, variable, named",
    [("horovodrun -np 2 -H localhost:2 python", "OMPI_COMM_WORLD_RANK",
      r"process rank 1 with PID \d+ on node \S+ exited on signal 9 \(Killed\)"),
     ("torchrun --standalone --nproc-per-node 2", "RANK",
      r"rank\s+: 1 \(local_rank: 1\)\s+exitcode\s+: -9 \(pid: \d+\)\s+\(SIGKILL\)")],
)  # fmt: skip
def test_a_killed_rank_ends_the_job_and_leaves_no_process(
    tmp_path, gluon_file, launcher, variable, named
):
    """User reports rows 1 and 2: rank 1 SIGKILLed (as by the out-of-memory killer) ended the
    job in seconds, the launcher naming the rank and the signal, but left its forkserver,
    loader worker and resource tracker running, re-parented to init; now nothing is left."""
    out, log, tag = tmp_path / "run", tmp_path / "job.log", f"{tmp_path.name}-{variable}"
    job = start(
        f"{launcher} -m distributed.train mpgan --data {gluon_file} --eval-jets 20 "
        f"--batch-size 4 --log-every 1 --no-evaluate --loader-workers 1 --steps 2000 "
        f"--epochs 1000 --out {out}",
        log,
        {"JOB_TAG": tag},
    )
    try:
        wait_for(lambda: rows(out / "metrics.csv") >= 11, job, log)
        helpers = [" ".join(p.cmdline()) for p in job_processes(tag)]
        assert sum("multiprocessing.forkserver" in c for c in helpers) >= 4, helpers  # + workers
        worker(job, variable, 1).send_signal(signal.SIGKILL)
        assert job.wait(timeout=60) != 0
    finally:
        if job.poll() is None:
            job.kill()
    assert re.search(named, log.read_text()), log.read_text()[-3000:]
    deadline = time.monotonic() + 15  # the loader workers notice within a second
    while left := job_processes(tag):
        assert time.monotonic() < deadline, [p.cmdline() for p in left]
        time.sleep(0.5)


def test_a_bad_input_under_torchrun_exits_without_an_abort(tmp_path):
    """Both ranks failed with the right line, but with the process group up at exit Gloo's
    threads aborted one of them in 3 of 5 tries (``terminate called without an active
    exception``, SIGABRT), which torchrun then reported as the root cause."""
    for _ in range(3):
        proc = run(
            f"torchrun --standalone --nproc-per-node 2 -m distributed.train mpgan "
            f"--data {tmp_path / 'missing.hdf5'} --steps 2 --out {tmp_path / 'run'}"
        )
        assert proc.returncode != 0
        assert "no such JetNet file" in proc.stderr
        assert "terminate called" not in proc.stderr and "SIGABRT" not in proc.stderr
        assert "exitcode  : 2" in proc.stderr, proc.stderr[-3000:]


def test_a_rendezvous_port_held_by_another_program_fails_in_one_line(tmp_path, calorimeter_file):
    """User report row 4: the README's two-node torchrun command with its c10d endpoint's port
    held by a listener that accepts and never answers printed nothing for 151 s; with the
    README's ``c10d-checked`` it fails in one line naming the endpoint, in about 10 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    command = readme_command("GLOO_SOCKET_IFNAME=eth0 torchrun --nnodes 2")
    assert "--rdzv-backend c10d-checked --rdzv-endpoint host1:29400" in command
    out = tmp_path / "run"
    command = command.removeprefix("GLOO_SOCKET_IFNAME=eth0 ").replace("--out runs/gvae-2n", "")
    command = command.replace("host1:29400", f"127.0.0.1:{port}")
    command += f" --data {calorimeter_file} {GVAE} --steps 2 --out {out}"
    try:
        started = time.monotonic()
        proc = run(command, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert proc.returncode == 2, proc.stderr[-3000:]
    (line,) = error_lines(proc)
    assert f"endpoint 127.0.0.1:{port} accepts connections but does not answer" in line, line
    assert elapsed < 60 and not out.exists()


def test_elastic_mpgan_with_a_loader_worker_survives_a_killed_worker(tmp_path, gluon_file):
    """User report row 10: the README's elastic command with the MPGAN and ``--gloo``, one
    worker SIGKILLed after 10 steps, made no step after step 12 and no message until killed at
    200 s. The dead worker's loader worker and forkserver lived on and held its output pipes,
    so Horovod's driver never saw it end (the GVAE, with no loader worker, survived). Now the
    loader worker ends with its rank and the survivor finishes from the last commit."""
    out, log = tmp_path / "elastic", tmp_path / "elastic.log"
    proc = start(
        "horovodrun -np 2 --min-np 1 --max-np 2 --gloo --network-interface lo "
        "--host-discovery-script launch/discover_hosts.sh python -m distributed.train mpgan "
        f"--elastic --commit-every 5 --data {gluon_file} --eval-jets 20 --batch-size 4 "
        f"--loader-workers 1 --steps 40 --epochs 20 --log-every 1 --no-evaluate --out {out}",
        log,
    )
    survive_a_killed_worker(proc, log, out / "metrics.csv", after_step=10, timeout=120)
    assert "world size now 1: continuing from the commit" in (out / "train.log").read_text()
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 40
