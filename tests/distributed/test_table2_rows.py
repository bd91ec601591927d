"""Every Table 2 row trains under horovodrun and torchrun at np 2 (tests/distributed/
table2_rows_probe.py): the ranks end with the same parameters, no update is skipped, and a
fixed global batch split over two ranks makes one process's updates — the WGAN-GP rows
included, whose gradient penalty is a second-order backward through DDP's reducer and
Horovod's gradient hooks, and whose generator trains every fifth batch. GraphCNN's rows (a
BatchNorm over each rank's jets) agree across ranks only; in float64 (see the probe)."""

from __future__ import annotations

import pytest
import torch

from mpgan.rows import ROWS

PROBE = "tests/distributed/table2_rows_probe.py"
LAUNCHERS = {
    "horovod-np2": "horovodrun -np 2 -H localhost:2 --gloo python",
    "torch-np2": "torchrun --standalone --nproc-per-node 2",
}
STEPS, GLOBAL_BATCH = 7, 8  # a generator update at batches 1 and 6 of the WGAN rows


@pytest.mark.slow
def test_every_row_on_two_ranks_makes_one_process_updates(launch, tmp_path, gluon_file):
    for command in ("python", *LAUNCHERS.values()):
        proc = launch(f"{command} {PROBE} {gluon_file} {tmp_path} {STEPS} {GLOBAL_BATCH}", 600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    one = torch.load(tmp_path / "horovod-np1.pt", weights_only=False)
    assert set(one) == {row.directory for row in ROWS}
    for name in LAUNCHERS:
        two = torch.load(tmp_path / f"{name}.pt", weights_only=False)
        for row, result in two.items():
            assert result["spread"] == 0.0, (name, row)  # every rank holds the same model
            assert result["skipped"] == 0, (name, row)
            if row.startswith("graphcnn"):
                continue
            # float64: the summation order's rounding (1e-16) stays far below an update (1e-4)
            torch.testing.assert_close(
                result["params"], one[row]["params"], rtol=1e-9, atol=1e-10, msg=f"{name} {row}"
            )
    for row, result in one.items():  # both networks trained (a generator step happened)
        assert (result["params"] - result["start"]).abs().max() > 1e-6, row
