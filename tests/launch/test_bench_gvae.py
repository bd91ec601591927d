"""The GVAE benchmark runs the trainer with and without the graph cache and prints the ratio."""

from __future__ import annotations

import re


def test_benchmark_compares_cached_and_rebuilt_graphs(launch, calorimeter_file):
    proc = launch(
        f"python -m launch.bench_gvae --data {calorimeter_file} --batch-size 4 --steps 14 "
        "--warmup 2 -- --eval-events 8",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    ratio = re.search(r"cache / no cache = (\d+\.\d+)x", text)
    assert ratio and float(ratio.group(1)) > 0
    rows = re.findall(r"^\s*0\s+(cache|no cache)\s+12\s", text, flags=re.M)  # 14 - 2 warm-up
    assert sorted(rows) == ["cache", "no cache"], text
