"""FPND: the shipped ParticleNet loads into ours, equals jetnet's own module (run with a kNN
stand-in for torch-cluster), recognises real Pythia jets of each class; jetnet's ``fpnd`` gives
our number; the Fréchet distance of a sample to its own statistics vanishes."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from jetnet.datasets import JetNet

from evaluation.fpnd import (
    RESOURCES,
    fpnd,
    fpnd_inputs,
    gaussian_frechet_distance,
    particlenet_activations,
    pretrained,
)
from evaluation.jetnet import JETNET_MAXIMA
from evaluation.particlenet import CLASSES, ParticleNet, knn_edges
from events.generate import jets_chunk
from events.pythia import JetSourceOptions


@pytest.fixture(scope="module")
def jets_by_class() -> dict[str, np.ndarray]:
    """60 real Pythia jets per class (JetNet units, with mask), about 5 s."""
    return {t: jets_chunk(JetSourceOptions(jet_type=t), 60, seed=21)[0] for t in ("g", "q", "t")}


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


def test_inputs_are_normalised_like_jetnet(jets_by_class):
    assert np.array_equal(JETNET_MAXIMA, np.float32(JetNet.fpnd_norm.feature_maxes))
    jets = np.zeros((1, 30, 4), dtype=np.float32)
    jets[0, 0] = (1.6211985349655151, -0.520724892616272, 0.8934717178344727, 1.0)
    jets[0, 1] = (0.3, 0.2, 0.1, 0.0)  # masked: becomes zero before the shift
    x = fpnd_inputs(jets)
    assert torch.allclose(x[0, 0], torch.tensor([1.0, -1.0, 0.5]))
    assert torch.allclose(x[0, 1], torch.tensor([0.0, 0.0, -0.5]))
    g = jets_by_class["g"]
    expected = JetNet.fpnd_norm(torch.tensor(g[..., :3]))  # jetnet's, on zero-padded jets
    assert torch.allclose(fpnd_inputs(g), expected, atol=1e-6)


def knn_graph_stand_in(x, k, batch=None, loop=False, flow="source_to_target", **_):
    """torch_cluster.knn_graph written independently of ours (per graph: cdist, top-k)."""
    assert not loop and flow == "source_to_target"
    batch = torch.zeros(len(x), dtype=torch.long) if batch is None else batch
    sources, targets = [], []
    for graph in batch.unique():
        nodes = (batch == graph).nonzero().flatten()
        distance = torch.cdist(x[nodes], x[nodes])
        distance.fill_diagonal_(float("inf"))
        nearest = distance.topk(k, largest=False).indices  # [n, k]
        sources.append(nodes[nearest].flatten())
        targets.append(nodes.repeat_interleave(k))
    return torch.stack([torch.cat(sources), torch.cat(targets)])


@pytest.fixture
def jetnet_particlenet(monkeypatch):
    """jetnet's own ParticleNet module, importable with the kNN stand-in as torch_cluster."""
    monkeypatch.setitem(
        sys.modules, "torch_cluster", types.SimpleNamespace(knn_graph=knn_graph_stand_in)
    )
    monkeypatch.delitem(sys.modules, "jetnet.evaluation.particlenet", raising=False)
    from jetnet.evaluation import particlenet

    return particlenet


def test_network_and_fpnd_equal_jetnets(jetnet_particlenet, jets_by_class):
    theirs = jetnet_particlenet._ParticleNet(30, 3)
    theirs.load_state_dict(torch.load(RESOURCES / "pnet_state_dict.pt", map_location="cpu"))
    theirs.eval()
    jets = np.concatenate(list(jets_by_class.values()))
    x = fpnd_inputs(jets)
    with torch.no_grad():
        expected = theirs(x, ret_activations=True)
        assert torch.allclose(pretrained().activations(x), expected, atol=1e-4, rtol=1e-4)
        assert torch.allclose(pretrained()(x), theirs(x), atol=1e-4, rtol=1e-4)
    # jetnet's fpnd() end to end (its normalisation, batching, statistics) gives our number.
    from jetnet.evaluation import gen_metrics

    for jet_type in ("g", "t"):
        sample = jets_by_class[jet_type]
        with pytest.warns(RuntimeWarning, match="Recommended number"):
            reference = gen_metrics.fpnd(sample[..., :3], jet_type, device="cpu", use_tqdm=False)
        assert fpnd(sample, jet_type) == pytest.approx(reference, rel=1e-3)


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
