"""FPND: the shipped ParticleNet loads into ours, recognises real Pythia jets of each class, and
the Fréchet distance of a sample to its own statistics vanishes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from events.generate import jets_chunk
from events.pythia import JetSourceConfig
from mpgan.fpnd import (
    CLASSES,
    RESOURCES,
    ParticleNet,
    fpnd,
    fpnd_inputs,
    knn_edges,
    particlenet_activations,
    pretrained,
)
from mpgan.metrics import gaussian_frechet_distance


@pytest.fixture(scope="module")
def jets_by_class() -> dict[str, np.ndarray]:
    """60 real Pythia jets per class (JetNet units, with mask), about 5 s."""
    return {t: jets_chunk(JetSourceConfig(jet_type=t), 60, seed=21)[0] for t in ("g", "q", "t")}


def test_shipped_weights_load_strictly():
    state = torch.load(RESOURCES / "pnet_state_dict.pt", map_location="cpu")
    assert set(ParticleNet().state_dict()) == set(state)  # same names, nothing left over
    model = pretrained()
    assert not model.training
    assert torch.equal(model.fc1[0].weight, state["fc1.0.weight"])


def test_knn_edges_on_a_line():
    x = torch.tensor([[[0.0], [1.0], [3.0], [7.0]]])  # one jet, 4 particles on a line
    source, target = knn_edges(x, 2)
    pairs = list(zip(source.tolist(), target.tolist(), strict=True))
    neighbours = {t: sorted(s for s, tt in pairs if tt == t) for t in range(4)}
    assert neighbours == {0: [1, 2], 1: [0, 2], 2: [0, 1], 3: [1, 2]}


def test_inputs_are_normalised_like_jetnet():
    jets = np.zeros((1, 30, 4), dtype=np.float32)
    jets[0, 0] = (1.6211985349655151, -0.520724892616272, 0.8934717178344727, 1.0)
    jets[0, 1] = (0.3, 0.2, 0.1, 0.0)  # masked: becomes zero before the shift
    x = fpnd_inputs(jets)
    assert torch.allclose(x[0, 0], torch.tensor([1.0, -1.0, 0.5]))
    assert torch.allclose(x[0, 1], torch.tensor([0.0, 0.0, -0.5]))


def test_particlenet_recognises_each_class(jets_by_class):
    """Chance is 1/5; the mean probability of the true class is well above it."""
    model = pretrained()
    for jet_type, jets in jets_by_class.items():
        with torch.no_grad():
            probability = model(fpnd_inputs(jets)).softmax(-1).mean(0)
        assert probability[CLASSES.index(jet_type)] > 0.3, (jet_type, probability)


def test_fpnd_of_a_sample_to_its_own_statistics_is_zero(jets_by_class):
    act = particlenet_activations(jets_by_class["t"])
    mu, cov = act.mean(0), np.cov(act, rowvar=False)
    assert act.shape == (60, 256)
    assert abs(gaussian_frechet_distance(mu, cov, mu, cov)) < 1e-5 * np.trace(cov)
    # Against the real JetNet statistics: finite, positive, and nearer its own class than another.
    assert 0 < fpnd(jets_by_class["t"], "t") < fpnd(jets_by_class["t"], "g")
    with pytest.raises(ValueError, match="g, q and t"):
        fpnd(jets_by_class["t"], "w")
