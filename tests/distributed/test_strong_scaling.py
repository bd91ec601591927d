"""Strong scaling makes the updates of one process: with a fixed global batch split over two
ranks (Horovod and torchrun), both models' losses and parameters after a few steps equal one
process's on the whole batch, up to the order of the sums; a per-rank batch (weak scaling)
does not."""

from __future__ import annotations

import pytest
import torch

PROBE = "tests/distributed/strong_scaling_probe.py"
LAUNCHERS = {
    "horovod-np2": "horovodrun -np 2 -H localhost:2 --gloo python",
    "torch-np2": "torchrun --standalone --nproc-per-node 2",
}


@pytest.mark.slow
def test_two_ranks_with_the_global_batch_make_one_process_updates(
    launch, tmp_path, calorimeter_file, gluon_file
):
    # Horovod at np 2 also trains a per-rank batch of 6 (a global 12): weak scaling, below.
    runs = {"python": "8", LAUNCHERS["horovod-np2"]: "8,12", LAUNCHERS["torch-np2"]: "8"}
    for command, batches in runs.items():
        args = f"{calorimeter_file} {gluon_file} {tmp_path} 3 {batches}"
        proc = launch(f"{command} {PROBE} {args}", timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    one = torch.load(tmp_path / "horovod-np1-b8.pt", weights_only=False)
    for name in LAUNCHERS:
        two = torch.load(tmp_path / f"{name}-b8.pt", weights_only=False)
        for model in ("gvae", "mpgan"):
            assert two[model]["names"] == one[model]["names"]
            torch.testing.assert_close(
                two[model]["losses"], one[model]["losses"], rtol=1e-5, atol=1e-7
            )
            # Adam and RMSprop divide each update by its own gradient's scale, which can enlarge
            # the summation-order rounding (1e-7) of a small gradient to ~2e-5 (seen once in
            # 45 134 GVAE parameters); weak scaling differs by more than 1e-3 (below).
            torch.testing.assert_close(
                two[model]["params"], one[model]["params"], rtol=1e-4, atol=1e-5
            )
    # What the test tells apart: a per-rank batch of 6 (a global 12) is another training.
    weak = torch.load(tmp_path / "horovod-np2-b12.pt", weights_only=False)
    assert not torch.allclose(weak["gvae"]["params"], one["gvae"]["params"], rtol=1e-3)
