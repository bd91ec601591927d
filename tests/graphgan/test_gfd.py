"""The graph Fréchet distance's parts: the classifier's radius graph on a toy graph, graclus as a
maximal matching within graphs, the fast GMMConv against PyG's, the published key layout, the
Fréchet distance against a direct formula and jetnet's, superpixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import eigh
from torch_geometric.nn import GMMConv

from evaluation.fpnd import gaussian_frechet_distance
from gnn.graclus import BLUE, graclus
from graphgan.gfd import GraphFrechetDistance, features, load_classifier, read_statistics
from graphgan.monet import CUTOFF, MoNet, classifier_input, edge_attributes, gmm_conv
from graphgan.superpixels import NODES, segment, superpixel_graphs


def test_radius_graph_of_a_toy_graph():
    # Three nodes on a line, 0.2 apart (GAN units), and one far away; intensities 0, 0.5.
    graph = torch.tensor([[[0.0, 0.0, 0.0], [0.2, 0.0, 0.5], [0.4, 0.0, 0.0], [0.0, 0.45, 0.0]]])
    data = classifier_input(graph.repeat(2, 1, 1))
    edges = {tuple(e) for e in data.edge_index.T.tolist()}
    # Within CUTOFF 0.32178: 0-1, 1-2 (0.2), not 0-2 (0.4) nor node 3 (0.45, 0.49, 0.60 away).
    one = {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert edges == one | {(a + 4, b + 4) for a, b in one}
    assert torch.allclose(data.x[:4, 0], torch.tensor([0.5, 1.0, 0.5, 0.5]))
    assert torch.allclose(data.pos[1], torch.tensor([28 * 0.2 + 14, 14.0]))
    attr = edge_attributes(data.pos, data.edge_index)
    row = data.edge_index.T.tolist().index([0, 1])  # 0 → 1: (pos_1 − pos_0)/(2·28·c) + 0.5
    assert torch.allclose(attr[row], torch.tensor([0.2 / (2 * CUTOFF) + 0.5, 0.5]))
    assert data.batch.tolist() == [0] * 4 + [1] * 4


def random_graphs(count, nodes=30, seed=0):
    rng = np.random.default_rng(seed)
    graphs = rng.uniform(-0.5, 0.45, (count, nodes, 3)).astype(np.float32)
    return torch.from_numpy(graphs)


def test_graclus_is_a_seeded_maximal_matching_within_graphs():
    data = classifier_input(random_graphs(6))
    row, col = data.edge_index
    weight = torch.rand(len(row), generator=torch.Generator().manual_seed(1))
    n = len(data.x)
    cluster = graclus(data.edge_index, weight, n, torch.Generator().manual_seed(0))
    again = graclus(data.edge_index, weight, n, torch.Generator().manual_seed(0))
    assert torch.equal(cluster, again)
    edges = set(zip(row.tolist(), col.tolist(), strict=True))
    sizes = torch.bincount(cluster, minlength=n)
    assert sizes.max() <= 2
    for c in torch.nonzero(sizes == 2).flatten().tolist():
        u, v = torch.nonzero(cluster == c).flatten().tolist()
        assert (u, v) in edges and c == min(u, v)
        assert data.batch[u] == data.batch[v]  # within one graph
    alone = set(torch.nonzero(cluster == torch.arange(n)).flatten().tolist()) - set(
        cluster[sizes[cluster] == 2].tolist()
    )
    assert not any(u in alone and v in alone for u, v in edges)  # maximal
    other = graclus(data.edge_index, weight, n, torch.Generator().manual_seed(5))
    assert not torch.equal(cluster, other)  # the colours decide


def reference_graclus(row, col, weight, n, generator):
    """torch-cluster's CUDA kernels (colorize, weighted propose, weighted respond) transcribed
    as loops over nodes, each pass in lock-step, with the same colour draws."""
    edges = [[] for _ in range(n)]
    for e, (u, v) in enumerate(zip(row.tolist(), col.tolist(), strict=True)):
        if u != v:
            edges[u].append((v, float(weight[e])))
    out = [-1] * n
    while any(c < 0 for c in out):
        draw = torch.rand(n, generator=generator)
        blue = {u for u in range(n) if out[u] < 0 and draw[u] < BLUE}
        red = {u for u in range(n) if out[u] < 0 and draw[u] >= BLUE}
        unmatched = {u for u in range(n) if out[u] < 0}
        alone = {u for u in unmatched if not any(v in unmatched for v, _ in edges[u])}
        proposal = {}
        for u in blue:
            best, w_max = -1, -1.0
            for v, w in edges[u]:  # the last of equal weights (>=)
                if v in red and w >= w_max:
                    best, w_max = v, w
            proposal[u] = best
        for v in red:
            best, w_max = -1, -1.0
            for u, w in edges[v]:
                if u in blue and proposal[u] == v and w >= w_max:
                    best, w_max = u, w
            if best >= 0:
                out[v] = out[best] = min(v, best)
        for u in alone:
            out[u] = u
    return torch.tensor(out)


def test_graclus_equals_the_kernels_transcribed():
    data = classifier_input(random_graphs(3, nodes=20))
    row, col = data.edge_index
    weight = torch.rand(len(row), generator=torch.Generator().manual_seed(2)).round(decimals=1)
    n = len(data.x)  # (weights rounded to 0.1: ties, decided by the edge order)
    for seed in range(3):
        ours = graclus(data.edge_index, weight, n, torch.Generator().manual_seed(seed))
        expected = reference_graclus(row, col, weight, n, torch.Generator().manual_seed(seed))
        assert torch.equal(ours, expected)
    with pytest.raises(ValueError, match="finite"):
        graclus(data.edge_index, weight * torch.nan, n)


def test_fast_monet_equals_pyg_through_pooling():
    """The whole classifier, fast against PyG's GMMConv calls: graphs that pool to different
    sizes (the padding of the dense path) and a node without neighbours."""
    torch.manual_seed(1)
    model = MoNet().eval()
    graphs = random_graphs(5, nodes=40, seed=4)
    graphs[2, 0, :2] = torch.tensor([-0.5, 8.0])  # far from every other node: no edges
    with torch.no_grad():
        fast = model(graphs, torch.Generator().manual_seed(0))
        model.fast = False
        pyg = model(graphs, torch.Generator().manual_seed(0))
    torch.testing.assert_close(fast, pyg, rtol=1e-4, atol=1e-5)


def test_fast_gmm_conv_equals_pyg():
    torch.manual_seed(0)
    data = classifier_input(random_graphs(4))
    for channels in ((1, 32), (32, 64)):
        conv = GMMConv(*channels, dim=2, kernel_size=25)
        with torch.no_grad():  # narrow kernels too: the exponent must not lose digits
            conv.sigma.uniform_(0.05, 0.5)
            conv.sigma[:3] = torch.tensor([1e-4, 1e-3, 3e-3])[:, None]
        data.x = torch.randn(len(data.x), channels[0])
        expected = conv(data.x, data.edge_index, edge_attributes(data.pos, data.edge_index))
        assert torch.allclose(gmm_conv(conv, data), expected, atol=1e-5, rtol=1e-4)


def test_classifier_reads_the_published_key_layout(tmp_path):
    model = MoNet()
    state = model.state_dict()
    for i in (1, 2, 3):  # PyG 1.x: root [in, out], a Parameter, not a Linear
        state[f"conv{i}.root"] = state.pop(f"conv{i}.root.weight").T.clone()
    torch.save(state, tmp_path / "C_state_dict.pt")
    loaded, info = load_classifier(tmp_path / "C_state_dict.pt")
    graphs = random_graphs(3)
    assert info == {}
    expected = model(graphs, torch.Generator().manual_seed(0))
    assert torch.equal(loaded(graphs, torch.Generator().manual_seed(0)), expected)
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pt")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    (tmp_path / "text.pt").write_text("label,p0\n")
    for name, message in (
        ("other", "not a MoNet"),
        ("list", "not a MoNet"),
        ("text", "not a readable classifier"),
    ):
        with pytest.raises(ValueError, match=message):
            load_classifier(tmp_path / f"{name}.pt")
    with pytest.raises(FileNotFoundError, match="graphgan.classifier"):
        load_classifier(tmp_path / "missing.pt")


def direct_frechet(mu1, s1, mu2, s2):
    """‖Δμ‖² + Tr Σ1 + Tr Σ2 − 2 Tr (Σ1^½ Σ2 Σ1^½)^½ via eigendecompositions."""
    w, v = eigh(s1)
    root1 = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = eigh(root1 @ s2 @ root1)[0]
    return (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.sum(np.sqrt(np.clip(inner, 0, None)))
    )


def test_frechet_distance_against_a_direct_formula_and_jetnet():
    from jetnet.evaluation.gen_metrics import _calculate_frechet_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 8)), rng.normal(0.3, 1.2, size=(400, 8)) @ rng.normal(size=(8, 8))
    stats = [(x.mean(0), np.cov(x, rowvar=False)) for x in (a, b)]
    ours = gaussian_frechet_distance(*stats[0], *stats[1])
    assert ours == pytest.approx(direct_frechet(*stats[0], *stats[1]), rel=1e-8)
    assert ours == pytest.approx(_calculate_frechet_distance(*stats[0], *stats[1]), rel=1e-10)
    # Singular covariances (fewer samples than dimensions, as the GFD's rank-deficient fc1):
    # the same number as jetnet's (pytorch-fid's) after its fallback.
    c, d = rng.normal(size=(5, 8)), rng.normal(size=(6, 8))
    singular = [(x.mean(0), np.cov(x, rowvar=False)) for x in (c, d)]
    assert gaussian_frechet_distance(*singular[0], *singular[1]) == pytest.approx(
        _calculate_frechet_distance(*singular[0], *singular[1]), rel=1e-6
    )


def test_gfd_floor_and_identity():
    model = MoNet().eval()
    real = random_graphs(40, seed=1).numpy()
    gfd = GraphFrechetDistance(model, real)
    assert gfd(real) == pytest.approx(0, abs=1e-6)  # the same graphs, the same colours
    assert 0 < gfd.floor < gfd(random_graphs(40, seed=2).numpy() * 0.3)
    with pytest.raises(ValueError, match="at least 4"):
        GraphFrechetDistance(model, real[:3])


def test_published_statistics_replace_the_real_graphs(tmp_path):
    model = MoNet().eval()
    real, other = random_graphs(40, seed=1).numpy(), random_graphs(40, seed=3).numpy() * 0.3
    values = features(model, other)
    np.savetxt(tmp_path / "3_sm_2_nh_100_mu2.txt", values.mean(0))
    np.savetxt(tmp_path / "3_sm_2_nh_100_sigma2.txt", np.cov(values, rowvar=False))
    published = read_statistics(tmp_path / "3_sm_2_nh_100_")
    gfd = GraphFrechetDistance(model, real, statistics=published)
    assert gfd(other) == pytest.approx(0, abs=1e-6)  # against the file's, not real's
    assert gfd(real) > 0.01 and gfd.floor == GraphFrechetDistance(model, real).floor
    with pytest.raises(FileNotFoundError, match="no such statistics"):
        read_statistics(tmp_path / "4_sp_")


def blobs(count, seed=0):
    """Images of a few Gaussian blobs (0-255), in the spirit of garments and digits."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:28, :28]
    out = np.zeros((count, 28, 28))
    for i in range(count):
        for _ in range(rng.integers(1, 4)):
            y, x, s = rng.uniform(6, 22), rng.uniform(6, 22), rng.uniform(2, 6)
            out[i] += 255 * np.exp(-((r - y) ** 2 + (c - x) ** 2) / (2 * s**2))
    return np.clip(out, 0, 255).astype(np.uint8)


def test_superpixels_are_75_with_the_published_feature_ranges():
    images = blobs(12)
    graphs = superpixel_graphs(images)
    assert graphs.shape == (12, NODES, 3) and graphs.dtype == np.float32
    assert (graphs[..., :2] >= -0.5).all() and (graphs[..., :2] < 0.5).all()
    assert (graphs[..., 2] >= -0.5).all() and (graphs[..., 2] <= 0.5).all()
    labels = segment(images[0])
    assert sorted(np.unique(labels)) == list(range(NODES))
    # Each node is its segment's centroid and mean intensity.
    rows, cols = np.nonzero(labels == 7)
    assert graphs[0, 7, 0] == pytest.approx((cols.mean() - 14) / 28, abs=1e-6)
    assert graphs[0, 7, 1] == pytest.approx((rows.mean() - 14) / 28, abs=1e-6)
    assert graphs[0, 7, 2] == pytest.approx(images[0][labels == 7].mean() / 255 - 0.5, abs=1e-6)
    blank = np.zeros((1, 28, 28), np.uint8)  # a constant image still gives 75
    assert superpixel_graphs(blank).shape == (1, NODES, 3)
