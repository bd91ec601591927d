"""Images → hits → graphs: coordinates, HCAL towers, features, kNN per channel, node cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torch_geometric.data import Batch, Data

from gvae.hits import (
    HitBatcher,
    HitDataset,
    HitGraphOptions,
    features_to_hits,
    hit_batch,
    hit_features,
    image_hits,
    load_event_hits,
)

CELL = 0.0174


def test_image_hits_positions_channels_and_towers():
    image = np.zeros((3, 125, 125), dtype=np.float32)
    image[0, 62, 63] = 3.0  # a track one cell right of the axis (φ)
    image[1, 60, 62] = 7.0  # an ECAL cell two cells below (η)
    image[2, 65:70, 60:65] = 20.0  # one HCAL tower (rows 65-69 → centre 67), stored upsampled
    hits = image_hits(image)
    assert hits.shape == (3, 4)
    assert hits[:, 2].tolist() == [20.0, 7.0, 3.0]  # energy-descending, tower counted once
    assert hits[:, 3].tolist() == [2, 1, 0]
    assert np.allclose(hits[0, :2], [5 * CELL, 0.0], atol=1e-6)  # tower centre (67, 62)
    assert np.allclose(hits[1, :2], [-2 * CELL, 0.0], atol=1e-6)
    assert np.allclose(hits[2, :2], [0.0, CELL], atol=1e-6)


def test_features_round_trip():
    hits = np.array([[0.1, -0.2, 50.0, 2], [0.0, 0.05, 0.7, 0]], dtype=np.float32)
    cfg = HitGraphOptions()
    x = hit_features(hits, cfg)
    assert x.shape == (2, 6) and x[0, 3:].tolist() == [0, 0, 1]
    assert np.isclose(x[0, 2], np.log10(50.0))
    assert np.allclose(features_to_hits(x, cfg), hits, rtol=1e-5)


def test_graph_edges_stay_within_a_channel_and_cap_keeps_hardest(calorimeter_images):
    hits = image_hits(calorimeter_images[0])
    graph = hit_batch([hits], HitGraphOptions(max_nodes=40))
    assert graph.num_nodes == 40
    assert np.array_equal(graph.hits.numpy(), hits[:40])  # the 40 most energetic
    channel = graph.hits[:, 3]
    assert (channel[graph.edge_index[0]] == channel[graph.edge_index[1]]).all()
    across = hit_batch([hits], HitGraphOptions(max_nodes=40, edges="all"))
    assert (channel[across.edge_index[0]] != channel[across.edge_index[1]]).any()


def test_dataset_and_loading(calorimeter_file, tmp_path):
    hits, mean_image = load_event_hits(calorimeter_file)
    assert len(hits) == 48 and mean_image.shape == (3, 125, 125)
    uncached = HitDataset(hits, HitGraphOptions(cache=False))
    assert len(uncached) == 48 and uncached[3].shape[1] == 4  # hit arrays
    batcher = HitBatcher(HitGraphOptions())
    built = batcher([uncached[i] for i in (5, 2, 7)])  # graphs built for the batch
    assert built.num_graphs == 3 and built.x.shape[1] == 6
    with pytest.raises(FileNotFoundError, match="no such E2E file"):
        load_event_hits(tmp_path / "missing.h5")


def test_cached_graphs_collate_to_the_built_batch(calorimeter_file):
    """A batch of the cached event graphs is the batch built from the hits, and what PyG's
    own collation gives: same features, hits, edges and graph index."""
    hits, _ = load_event_hits(calorimeter_file)
    cfg = HitGraphOptions()
    dataset = HitDataset(hits, cfg, chunk=7)  # built in chunks of 7 events
    single = hit_batch([dataset.hits[2]], cfg)
    assert torch.equal(dataset[-1].x, dataset[len(dataset) - 1].x)
    with pytest.raises(IndexError):
        dataset[len(dataset)]
    assert torch.equal(dataset[2].x, single.x) and torch.equal(dataset[2].hits, single.hits)
    edges = {tuple(e) for e in dataset[2].edge_index.t().tolist()}
    assert edges == {tuple(e) for e in single.edge_index.t().tolist()}
    picked = dataset.__getitems__([5, 2, 7])
    cached = HitBatcher(cfg)(picked)
    built = hit_batch([dataset.hits[i] for i in (5, 2, 7)], cfg)
    assert torch.equal(cached.x, built.x) and torch.equal(cached.hits, built.hits)
    assert torch.equal(cached.batch, built.batch) and cached.num_graphs == 3
    edges = {tuple(e) for e in cached.edge_index.t().tolist()}
    assert edges == {tuple(e) for e in built.edge_index.t().tolist()}
    pyg = Batch.from_data_list([Data(x=x, hits=h, edge_index=e.long()) for x, h, e in picked])
    for key in ("x", "hits", "edge_index", "batch", "ptr"):
        assert torch.equal(cached[key], pyg[key]), key


def test_loader_worker_receives_the_cached_graphs(calorimeter_file):
    """The trainer's loader (``--loader-workers 1``: a forkserver worker) starts with the cache
    of 288 events and yields the batches the training process would collate itself. With a
    shared-memory handle per event the worker could not start (Python sends at most 251)."""
    hits, _ = load_event_hits(calorimeter_file)
    cfg = HitGraphOptions()
    dataset = HitDataset(hits * 6, cfg)
    assert len(dataset) == 288
    loader = DataLoader(
        dataset, batch_size=32, collate_fn=HitBatcher(cfg), num_workers=1,
        multiprocessing_context="forkserver",
    )  # fmt: skip
    batches = list(loader)
    assert len(batches) == 9
    for i, batch in enumerate(batches):
        expected = HitBatcher(cfg)(dataset.__getitems__(list(range(32 * i, 32 * i + 32))))
        for key in ("x", "hits", "edge_index", "batch"):
            assert torch.equal(batch[key], expected[key]), key


def test_batched_edges_equal_per_event_edges(calorimeter_images):
    cfg = HitGraphOptions(max_nodes=50)
    events = [image_hits(image) for image in calorimeter_images[:3]]
    batch = hit_batch(events, cfg)
    expected, offset = set(), 0
    for event in events:
        single = hit_batch([event], cfg)
        expected |= {(s + offset, t + offset) for s, t in single.edge_index.t().tolist()}
        offset += single.num_nodes
    assert set(map(tuple, batch.edge_index.t().tolist())) == expected
