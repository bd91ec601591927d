"""The MPGAN benchmark times the loop's own training step, default against published."""

from __future__ import annotations

import re


def test_benchmark_times_the_trainer_step_and_prints_the_ratio(launch, gluon_file):
    proc = launch(
        f"python -m launch.bench_mpgan --data {gluon_file} --batch-size 4 --generate-batch 8 "
        "--steps 1 --repeats 1 --threads 1"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trainer step" in proc.stdout and re.search(r"default / published = \S+x", proc.stdout)
    match = re.search(
        r"output difference, same weights: (\S+) \(fp32\), (\S+) \(bf16\)", proc.stdout
    )
    fp32, bf16 = map(float, match.groups())
    assert fp32 < 1e-5 < bf16 < 0.05  # the same maths; bf16 precision
