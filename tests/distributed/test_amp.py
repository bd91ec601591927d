"""Mixed precision on CPU: both models train under bf16 autocast, which really changes the
arithmetic (the losses differ from fp32's from the same start) without changing the physics."""

from __future__ import annotations

import csv

import pytest

MODELS = {
    "gvae": ("calorimeter_file", "--eval-events 8", "total"),
    "mpgan": ("gluon_file", "--eval-jets 40", "loss_d"),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bf16_autocast_on_cpu(launch, tmp_path, request, model):
    fixture, options, loss = MODELS[model]
    losses = {}
    for amp in ("off", "bf16"):
        out = tmp_path / amp
        proc = launch(
            f"python -m distributed.train {model} --data {request.getfixturevalue(fixture)} "
            f"{options} --steps 2 --batch-size 4 --amp {amp} --no-evaluate --log-every 1 "
            f"--loader-workers 0 --out {out}",
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows = list(csv.DictReader((out / "metrics.csv").open()))
        losses[amp] = [float(r[loss]) for r in rows]
    assert "amp torch.bfloat16" in proc.stderr
    # The same seed, data and start: the first losses differ only by bf16 rounding.
    first_fp32, first_bf16 = losses["off"][0], losses["bf16"][0]
    assert first_bf16 != first_fp32
    assert first_bf16 == pytest.approx(first_fp32, rel=0.05)
    assert all(v == v for v in losses["bf16"])  # finite (not NaN)
