"""The GVAE under real Horovod launches: two ranks train, agree, and write a full run directory."""

from __future__ import annotations

import csv
import json
import time

import torch

from gvae.report import main as report_main


def test_gvae_two_ranks_end_to_end(launch, tmp_path, calorimeter_file):
    out = tmp_path / "run"
    proc = launch(
        f"horovodrun -np 2 -H localhost:2 --gloo python -m distributed.train gvae "
        f"--data {calorimeter_file} --eval-events 8 --epochs 2 --steps 6 --batch-size 4 "
        f"--log-every 3 --out {out}",
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == 6
    assert result["param_spread_between_ranks"] == 0.0  # every rank holds the same model
    assert result["emd_median_random_pair"] > 0 and result["emd_median_gvae"] > 0

    config = json.loads((out / "config.json").read_text())
    assert config["world"]["size"] == 2 and config["TrainConfig"]["batch_size"] == 4
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 6]
    assert {"total", "position", "energy", "channel", "kl", "mincut", "ortho"} <= set(rows[0])
    timing = [json.loads(line) for line in (out / "timing.jsonl").read_text().splitlines()]
    assert [t["step"] for t in timing] == list(range(1, 7))
    for t in timing:
        assert t["step_time"] >= t["data_wait"] and t["allreduce"] > 0
        assert abs(t["step_time"] - t["data_wait"] - t["allreduce"] - t["compute"]) < 1e-9
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert set(state["models"]) == {"gvae"} and state["step"] == 6
    report = (out / "emd_report" / "report.md").read_text()
    assert "| all | gvae |" in report and "| all | random_pair |" in report
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
