"""Mixed precision on CPU: both models train a few steps under bf16 autocast."""

from __future__ import annotations

import json

import pytest

MODELS = {
    "gvae": ("calorimeter_file", "--eval-events 8 --steps 3"),
    "mpgan": ("gluon_file", "--eval-jets 40 --steps 2"),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bf16_autocast_on_cpu(launch, tmp_path, request, model):
    fixture, options = MODELS[model]
    out = tmp_path / "run"
    proc = launch(
        f"python -m distributed.train {model} --data {request.getfixturevalue(fixture)} "
        f"{options} --batch-size 4 --amp bf16 --no-evaluate --out {out}",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "amp torch.bfloat16" in proc.stderr
    result = json.loads((out / "evaluation.json").read_text())
    assert result["steps"] == int(options.split()[-1]) and result["param_spread_between_ranks"] == 0
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and "nan" not in rows[1]  # header + the final step, finite losses
