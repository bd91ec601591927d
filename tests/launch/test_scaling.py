"""Scaling studies: the table maths (incl. the GVAE paper's own numbers), a real two-point sweep,
the α–β model on known inputs, and the Slurm scripts' print mode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launch.environment import horovod_env
from launch.scaling import paper_table, quality_table, scaling_table
from launch.scaling_model import Link, fit_link, predict, ring_allreduce_time
from launch.scaling_model import main as model_main

ROOT = Path(__file__).resolve().parents[2]
GVAE_PAPER = [69.34, 85.48, 94.96, 101.54]  # mean execution time (s) on 1–4 GPUs, weak scaling


def test_weak_scaling_reproduces_the_gvae_paper_table():
    table = scaling_table(pd.DataFrame({"np": [1, 2, 3, 4], "time_s": GVAE_PAPER}), "weak")
    assert table.speedup.round(2).tolist() == [1.0, 1.62, 2.19, 2.73]
    # The paper prints 0.71 at np = 3; its own speedup 2.19 gives 0.73.
    assert table.efficiency.round(2).tolist() == [1.0, 0.81, 0.73, 0.68]
    text = paper_table(table)
    assert "| Speedup" in text and "2.73" in text and "np = 4" in text and "1.00" in text


def test_strong_scaling_and_repeats():
    times = pd.DataFrame({"np": [1, 1, 2, 2, 4], "time_s": [99.0, 101.0, 50.0, 50.0, 30.0]})
    table = scaling_table(times, "strong")
    assert table.repeats.tolist() == [2, 2, 1]
    assert table.time_mean_s.tolist() == [100.0, 50.0, 30.0]
    assert table.time_std_s.tolist() == [1.0, 0.0, 0.0]
    assert np.allclose(table.speedup, [1, 2, 100 / 30])
    assert np.allclose(table.efficiency, [1, 1, 100 / 120])
    with pytest.raises(ValueError, match="weak"):
        scaling_table(times, "sideways")


@pytest.mark.parametrize("launcher", ["horovodrun", "torchrun"])
def test_real_sweep_at_one_and_two_ranks(launch, tmp_path, calorimeter_file, launcher):
    proc = launch(
        f"python -m launch.scaling --model gvae --np 1 2 --steps 5 --warmup 2 --batch-size 4 "
        f"--launcher {launcher} --out {tmp_path} --name study -- --data {calorimeter_file} "
        "--eval-events 8",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = tmp_path / "study"
    results = pd.read_csv(study / "results.csv")
    assert results.np.tolist() == [1, 2] and (results.time_mean_s > 0).all()
    # Weak at np 2: efficiency = T(1) / T(2), each T the step times of its run's timing file
    # after the 2 warm-up steps.
    runs = [(study / "runs" / f"np{n}-r0.jsonl").read_text().splitlines() for n in (1, 2)]
    times = [sum(json.loads(line)["step_time"] for line in lines[2:]) for lines in runs]
    assert results.time_mean_s.tolist() == pytest.approx(times, rel=1e-5)
    assert results.efficiency[1] == pytest.approx(times[0] / times[1], rel=1e-4)
    # The machine's bound: two single-process runs at the same time, their mean time.
    alone = [(study / "runs" / f"np2-r0-independent{i}.jsonl").read_text() for i in (0, 1)]
    bound = sum(sum(json.loads(x)["step_time"] for x in a.splitlines()[2:]) for a in alone) / 2
    assert results.bound_time_s[1] == pytest.approx(bound, rel=1e-5)
    assert results.efficiency_vs_bound[1] == pytest.approx(bound / times[1], rel=1e-4)
    assert results.bound_efficiency[1] == pytest.approx(times[0] / bound, rel=1e-4)
    assert (results.communication_ms[1] > 0) and 0 <= results.data_wait_share[1] < 1
    env = json.loads((study / "environment.json").read_text())
    assert env["threads_per_rank"] == 1 and env["parameters"] > 10_000
    assert len(env["runs"]) == 4  # np 1, np 2, and the two independent processes
    assert (launcher == "torchrun") == (
        "torchrun --standalone --nproc-per-node 2" in env["runs"][1]
    )
    backend = "torch" if launcher == "torchrun" else "horovod"
    assert f"distributed.train gvae --engine {backend}" in env["runs"][2]
    assert {"torch", "horovod", "mpi"} <= set(env["versions"])
    assert "Parallelization efficiency" in (study / "table.md").read_text()
    assert (study / "scaling.png").stat().st_size > 0
    timing = (study / "runs" / "np2-r0.jsonl").read_text().splitlines()
    assert len(timing) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["study"]  # no staging folder left behind
    assert "vs bound" in (study / "table.md").read_text()

    # The α–β model reads the study and writes its prediction next to it.
    assert model_main([str(study), "--gpus", "8", "16", "--link", "ib"]) == 0
    prediction = pd.read_csv(study / "prediction.csv")
    assert prediction.gpus.tolist() == [8, 16] and (prediction.efficiency <= 1).all()
    assert (study / "prediction.md").read_text().startswith("# PREDICTION")


def test_time_to_quality_table_on_known_curves():
    """Time to quality: the training time of the first evaluation at or below the target, by
    default np 1's final value × 1.15; its speedup over np 1."""
    curves = {
        1: pd.DataFrame({"step": [10, 20], "quality": [50.0, 40.0], "time_s": [5.0, 10.0]}),
        2: pd.DataFrame({"step": [10, 20], "quality": [60.0, 45.0], "time_s": [3.0, 6.0]}),
        4: pd.DataFrame({"step": [5, 10], "quality": [90.0, 70.0], "time_s": [4.0, 8.0]}),
    }
    for curve in curves.values():
        curve["samples"] = curve.step * 32
    table, target = quality_table(curves, None)
    assert target == pytest.approx(46.0)
    assert table.time_to_quality_s.tolist()[:2] == [10.0, 6.0]
    assert np.isnan(table.time_to_quality_s[2])  # never reached
    assert table.speedup_to_quality.tolist()[:2] == pytest.approx([1.0, 10 / 6])
    assert table.quality_vs_smallest_np.tolist() == pytest.approx([1.0, 45 / 40, 70 / 40])
    given = quality_table(curves, 55.0)[0].time_to_quality_s
    assert given[:2].tolist() == [5.0, 6.0] and np.isnan(given[2])


@pytest.mark.slow
def test_real_time_to_quality_sweep(launch, tmp_path, calorimeter_file):
    """A strong-scaling quality sweep at np 1 and 2: the same optimizer steps and samples (the
    global batch split), the quality curve from each run's evaluations, the time to the target
    recomputed from the runs' own timing lines."""
    proc = launch(
        f"python -m launch.scaling --model gvae --quality --mode strong --np 1 2 --batch-size 4 "
        f"--out {tmp_path} --name study -- --data {calorimeter_file} --eval-events 8 "
        "--epochs 1 --steps 6 --eval-every 3",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = tmp_path / "study"
    quality = pd.read_csv(study / "quality.csv")
    assert quality.np.tolist() == [1, 2] and quality.steps.tolist() == [6, 6]
    assert quality.samples.tolist() == [24, 24]  # global batch 4 in both
    curves = pd.read_csv(study / "curves.csv")
    assert curves[curves.np == 2].step.tolist() == [3, 6]
    for n in (1, 2):
        evaluations = pd.read_csv(study / "runs" / f"np{n}-r0-evaluations.csv")
        lines = (study / "runs" / f"np{n}-r0.jsonl").read_text().splitlines()
        times = np.cumsum([json.loads(line)["step_time"] for line in lines])
        curve = curves[curves.np == n]
        assert curve.quality.tolist() == pytest.approx(evaluations.emd_median_gvae, rel=1e-5)
        assert curve.time_s.tolist() == pytest.approx([times[2], times[5]], rel=1e-5)
    target = quality.final_quality[0] * 1.15
    reached = curves[(curves.np == 2) & (curves.quality <= target)]
    expected = reached.time_s.iloc[0] if len(reached) else np.nan
    assert quality.time_to_quality_s[1] == pytest.approx(expected, nan_ok=True)
    assert "time to quality" in (study / "quality.md").read_text()
    assert (study / "quality.png").stat().st_size > 0
    # The α–β model predicts the time to quality of the same updates on more GPUs.
    assert model_main([str(study), "--gpus", "8", "--link", "nvlink"]) == 0
    text = (study / "prediction.md").read_text()
    assert "PREDICTION: time to quality" in text
    if not np.isnan(quality.time_to_quality_s[0]):
        steps = int(curves[(curves.np == 1) & (curves.quality <= target)].step.iloc[0])
        assert f"after {steps} steps" in text


def test_failed_run_is_one_line_and_leaves_nothing(launch, tmp_path):
    proc = launch(
        f"python -m launch.scaling --model gvae --np 1 --steps 3 --warmup 1 --out {tmp_path} "
        f"-- --data {tmp_path / 'missing.h5'}",
        timeout=120,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "missing.h5" in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_strong_scaling_needs_a_divisible_batch(launch):
    proc = launch("python -m launch.scaling --model gvae --mode strong --np 1 3 --batch-size 32")
    assert proc.returncode == 2 and "does not divide by 3 ranks" in proc.stderr  # trainer's rule


def test_ring_allreduce_model_on_known_inputs():
    link = Link(bandwidth=1e9, latency=1e-6)
    assert ring_allreduce_time(1, 1e9, link) == 0.0
    assert ring_allreduce_time(2, 1e9, link) == pytest.approx(1.0 + 2e-6)
    assert ring_allreduce_time(4, 1e9, link) == pytest.approx(1.5 + 6e-6)
    # Fitting noiseless model times recovers the link.
    ranks = np.array([1, 2, 4, 8])
    fitted = fit_link(ranks, ring_allreduce_time(ranks, 4e6, link), 4e6)
    assert fitted.bandwidth == pytest.approx(1e9) and fitted.latency == pytest.approx(1e-6)
    # Weak: efficiency = compute / (compute + exposed allreduce); strong: compute shrinks as 1/p.
    weak = predict([2], 0.010, 1e9, "weak", "ib", overlap=0.5, override=link)
    assert weak.efficiency[0] == pytest.approx(0.010 / (0.010 + 0.5 * (1.0 + 2e-6)))
    strong = predict([8, 16], 0.8, 0.0, "strong", "nvlink", override=Link(1e9, 0.0))
    assert strong.efficiency.tolist() == pytest.approx([1.0, 1.0])  # free communication
    presets = predict([8, 16], 0.01, 1e8, "weak", "nvlink")
    assert presets.link_GB_per_s.tolist() == [230.0, 24.0]  # beyond one node: InfiniBand


def test_slurm_scripts_are_shellcheck_clean_and_print_their_commands(launch):
    scripts = ["launch/slurm/train.sbatch", "launch/slurm/weak_scaling.sh", "launch/setup.sh"]
    assert launch(["shellcheck", "-x", *scripts]).returncode == 0
    proc = launch("bash launch/slurm/weak_scaling.sh --dry-run mpgan 3 --steps 50")
    assert proc.returncode == 0, proc.stderr
    assert "sbatch --nodes=3" in proc.stdout and "--np 1 2 4 8 16 24 --steps 50" in proc.stdout
    assert launch("bash launch/slurm/weak_scaling.sh --dry-run jets 2").returncode == 2
    env = {**horovod_env(), "PRINT_ONLY": "1", "SLURM_NTASKS": "16"}
    run = subprocess.run(
        ["bash", "launch/slurm/train.sbatch", "gvae", "--epochs", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.startswith("mpirun -np 16 ")
        and "distributed.train gvae --epochs 2" in run.stdout
    )
