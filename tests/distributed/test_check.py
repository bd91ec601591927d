"""The health check (``python -m distributed.check``) under real launchers: what the ranks
computed, not just exit codes; the trainer's model list and options."""

from __future__ import annotations

import json

import pytest

from distributed.train import main as train_main

LAUNCHERS = {
    "horovodrun-gloo": ("horovodrun -np 2 -H localhost:2 --gloo python -m", "horovod", "gloo"),
    "horovodrun-mpi": ("horovodrun -np 2 -H localhost:2 --mpi python -m", "horovod", "mpi"),
    "mpirun": ("mpirun -np 2 python -m", "horovod", "mpi"),
    "torchrun": ("torchrun --standalone --nproc-per-node 2 -m", "torch", "gloo"),
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_ranks_agree(launch, tmp_path, launcher):
    prefix, engine, controller = LAUNCHERS[launcher]
    out = tmp_path / "run"
    proc = launch(f"{prefix} distributed.check --out {out} --steps 50")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "check.json").read_text())

    ranks = result["ranks"]
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    assert {r["size"] for r in ranks} == {2}
    assert sorted(r["local_rank"] for r in ranks) == [0, 1]
    assert {r["controller"] for r in ranks} == {controller}
    assert {r["engine"] for r in ranks} == {engine}
    assert {r["threads"] for r in ranks} == {1}  # one thread per rank by default

    coll = result["collectives"]
    assert coll["allreduce_sum"] == 3.0  # (0 + 1) + (1 + 1)
    assert coll["allreduce_average"] == 1.5
    assert coll["broadcast_identical"] is True

    train = result["training"]
    assert train["global_batch"] == 2 * 64
    assert train["max_param_diff_between_ranks"] == 0.0
    assert train["max_param_diff_vs_single_process"] < 1e-12
    assert train["loss_end"] < 0.1 * train["loss_start"]
    assert result["ok"] is True
    assert "check: PASSED; outputs in" in proc.stdout + proc.stderr
    assert (out / "config.json").exists() and (out / "train.log").exists()


def test_single_process_with_threads(launch, tmp_path):
    out = tmp_path / "run"
    proc = launch(f"python -m distributed.check --out {out} --steps 20 --threads-per-rank 2")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "check.json").read_text())
    assert [r["size"] for r in result["ranks"]] == [1]
    assert result["ranks"][0]["threads"] == 2
    assert result["collectives"]["allreduce_sum"] == 1.0


def test_bad_flag_fails_every_rank_with_one_line(launch, tmp_path):
    out = tmp_path / "run"
    cmd = f"horovodrun -np 2 --gloo python -m distributed.check --out {out} --steps 0"
    proc = launch(cmd, timeout=60)
    assert proc.returncode != 0
    assert "--steps must be >= 1, got 0" in proc.stdout + proc.stderr
    assert not out.exists()  # nothing half-written


def test_unknown_model_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(["nosuchmodel"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nosuchmodel'" in capsys.readouterr().err


def test_help_lists_models_and_options(capsys, monkeypatch):
    """In this process (the trainer's parser; launches are tested above): help as a user's
    80-column terminal shows it."""
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit_:
        train_main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "  gvae    graph VAE" in out and "  mpgan   message-passing GAN" in out
    with pytest.raises(SystemExit) as exit_:
        train_main(["gvae", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in (
        "--threads-per-rank",
        "--out",
        "--seed",
        "--steps",
        "--batch-size",
        "--amp",
        "--data",
        "--clusters1",
        "--beta",
        "--no-assignment-skip",
    ):
        assert flag in out, flag
    assert "(default: 30)" in out  # the GVAE's own epoch default, shown by argparse


def test_models_lists_the_registry_for_scripts(capsys):
    """``--models``: the registered models, one per line (launch/slurm reads them)."""
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--models"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.split() == ["graphgan", "gvae", "mpgan"]
