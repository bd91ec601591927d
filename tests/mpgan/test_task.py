"""MPGANTask's evaluation sample: fixed noise, training's RNG stream untouched."""

from __future__ import annotations

import numpy as np
import torch

from mpgan.model import MPGANConfig
from mpgan.task import MPGANData, MPGANTask


def test_seeded_generation_repeats_and_leaves_the_global_rng_alone(gluon_file):
    task = MPGANTask(MPGANData(data=gluon_file, eval_jets=40), MPGANConfig())
    torch.manual_seed(1)
    expected_next = torch.rand(3)
    torch.manual_seed(1)
    first, second = task.generate(25, seed=0), task.generate(25, seed=0)
    np.testing.assert_array_equal(first, second)
    assert torch.equal(torch.rand(3), expected_next)  # as if generate had not run
    assert not np.array_equal(task.generate(25), task.generate(25))  # unseeded: fresh noise
