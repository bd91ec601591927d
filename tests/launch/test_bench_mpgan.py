"""The MPGAN benchmark times the loop's own training step, default against published, for
MP + MP and for another Table 2 row (GraphCNN + MP: the fast neighbour mean against PyG's
NNConv)."""

from __future__ import annotations

import re


def test_benchmark_times_the_trainer_step_and_prints_the_ratio(launch, gluon_file):
    proc = launch(
        f"python -m launch.bench_mpgan --data {gluon_file} --batch-size 4 --generate-batch 8 "
        "--steps 1 --repeats 1 --threads 1 --rows mp graphcnnmp"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trainer step" in proc.stdout
    for row in ("MP + MP", "GraphCNN + MP"):
        line = next(x for x in proc.stdout.splitlines() if x.startswith(f"{row}: training"))
        assert re.search(r"default / published = \S+x", line)
        match = re.search(r"output difference, same weights: (\S+) \(fp32\), (\S+) \(bf16\)", line)
        fp32, bf16 = map(float, match.groups())
        assert fp32 < 1e-4 < bf16 < 0.1, line  # the same maths; bf16 precision
