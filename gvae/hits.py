"""Detector images → hit graphs: the GVAE's input, built once per event and batched on the fly.

One event is the three E2E images (tracks, ECAL, HCAL; [3, 125, 125], GeV). Its hits are the
non-zero pixels — HCAL read at tower granularity (one hit per 5×5 tower, at the tower centre,
because the files store each tower upsampled) — with

    η, φ  = (pixel − centre) · 0.0174           offsets from the jet axis [rad]
    x_i   = (η / s, φ / s, log10(E / GeV), one-hot channel)      s = coordinate_scale

sorted by energy (descending) and capped at ``max_nodes`` (the highest-energy hits are kept).
Edges: the symmetrised kNN graph in (η, φ) (:func:`gnn.graph.knn_graph`), by default among the hits
of the same sub-detector (tracks, ECAL, HCAL), so that MinCut clusters do not mix channels.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset
from torch_geometric.data import Batch, Data

from events.detector import CHANNELS, DetectorOptions
from events.e2e import read_e2e
from gnn.graph import knn_graph

log = logging.getLogger(__name__)

MIN_HITS = 2  # a graph needs two nodes: events with fewer are not used
N_FEATURES = 3 + len(CHANNELS)  # η/s, φ/s, log10 E, one-hot channel


@dataclass
class HitGraphOptions:
    """How an event's images become a hit graph."""

    k: int = field(default=6, metadata={"help": "neighbours per hit in the kNN graph"})
    max_nodes: int = field(
        default=128, metadata={"help": "hits kept per event (highest energy first)"}
    )
    coordinate_scale: float = field(
        default=0.4, metadata={"help": "η and φ offsets are divided by this [rad]"}
    )
    edges: str = field(
        default="within-channel",
        metadata={
            "help": "kNN among hits of the same channel, or across all channels",
            "choices": ["within-channel", "all"],
        },
    )
    cache: bool = field(
        default=True,
        metadata={
            "help": "build every event's graph once, at the start, and keep them in memory, "
            "so that batching is collation only (--no-cache: build each batch's graphs again)"
        },
    )

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_nodes < 2 or self.coordinate_scale <= 0:
            raise ValueError("need k >= 1, max_nodes >= 2 and coordinate_scale > 0")


def image_hits(image: np.ndarray, detector: DetectorOptions | None = None) -> np.ndarray:
    """Zero-suppressed hits of one event, energy-descending.

    Args:
        image: [3, H, W] (tracks, ECAL, HCAL upsampled) in GeV.

    Returns:
        hits: [n, 4] float32 = (η, φ, E [GeV], channel index).
    """
    detector = detector or DetectorOptions()
    cell, tower = detector.ecal_cell, detector.hcal_tower_cells
    centre = (image.shape[-1] - 1) / 2
    parts = []
    for channel in range(len(CHANNELS)):
        plane = image[channel]
        if channel == 2:  # one pixel per tower: its centre pixel carries the tower energy
            offset = tower // 2
            rows, cols = np.nonzero(plane[offset::tower, offset::tower])
            rows, cols = rows * tower + offset, cols * tower + offset
        else:
            rows, cols = np.nonzero(plane)
        parts.append(
            np.stack(
                [
                    (rows - centre) * cell,
                    (cols - centre) * cell,
                    plane[rows, cols],
                    np.full(len(rows), channel),
                ],
                axis=1,
            )
        )
    hits = np.concatenate(parts).astype(np.float32)
    return hits[np.argsort(-hits[:, 2], kind="stable")]


def hit_features(hits: np.ndarray, cfg: HitGraphOptions) -> np.ndarray:
    """Node features [n, 6] = (η/s, φ/s, log10 E, one-hot channel) of hits [n, 4]."""
    onehot = np.eye(len(CHANNELS), dtype=np.float32)[hits[:, 3].astype(int)]
    scaled = np.stack(
        [
            hits[:, 0] / cfg.coordinate_scale,
            hits[:, 1] / cfg.coordinate_scale,
            np.log10(hits[:, 2]),
        ],
        axis=1,
    )
    return np.concatenate([scaled, onehot], axis=1).astype(np.float32)


def features_to_hits(x: np.ndarray, cfg: HitGraphOptions) -> np.ndarray:
    """Inverse of :func:`hit_features` for model outputs [n, 3 + 3 channel scores] → hits [n, 4]."""
    return np.stack(
        [
            x[:, 0] * cfg.coordinate_scale,
            x[:, 1] * cfg.coordinate_scale,
            10.0 ** x[:, 2],
            x[:, 3:].argmax(axis=1),
        ],
        axis=1,
    ).astype(np.float32)


def load_event_hits(path: Path, limit: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Hits of every event in an E2E file that has a graph (at least :data:`MIN_HITS` hits; the
    others are dropped and counted in one log line), and the mean event image.

    Returns ``(hits, mean_image)``: a list of [n_i, 4] arrays (see :func:`image_hits`) and the
    [3, H, W] average of all the images. Raises like :func:`events.e2e.read_e2e`.
    """
    images = read_e2e(path, limit)[0]
    hits = [image_hits(image) for image in images]
    kept = [h for h in hits if len(h) >= MIN_HITS]
    if len(kept) < len(hits):
        log.info(
            "%s: %d of %d events have fewer than %d hits (no graph): not used",
            path, len(hits) - len(kept), len(hits), MIN_HITS,
        )  # fmt: skip
    return kept, images.mean(0)


def hit_batch(events: Sequence[np.ndarray], cfg: HitGraphOptions) -> Batch:
    """A batch of events as one PyG graph batch: x [ΣN, 6], edge_index [2, E], hits [ΣN, 4].

    Each event's hits must be energy-descending (as :func:`image_hits` returns them); the first
    ``cfg.max_nodes`` are kept. The kNN edges of the whole batch come from one batched
    :func:`~gnn.graph.knn_graph` call, grouping nodes by event (and channel, by default), which
    is what keeps on-the-fly graph building cheap.
    """
    events = [h[: cfg.max_nodes] for h in events]
    if min(len(h) for h in events) < MIN_HITS:
        raise ValueError(f"every event needs at least {MIN_HITS} hits to form a graph")
    batch = Batch.from_data_list(
        [Data(x=torch.from_numpy(hit_features(h, cfg)), hits=torch.from_numpy(h)) for h in events]
    )
    group = batch.batch
    if cfg.edges == "within-channel":  # one kNN graph per event and sub-detector
        group = group * len(CHANNELS) + batch.hits[:, 3].long()
    order = torch.argsort(group, stable=True)  # knn_graph wants nodes sorted by group
    batch.edge_index = order[knn_graph(batch.hits[order, :2].contiguous(), cfg.k, group[order])]
    return batch


class HitBatcher:
    """DataLoader ``collate_fn`` (picklable): cached event graphs → one PyG batch (collation
    only), or hit arrays → :func:`hit_batch` (graphs built for the whole batch)."""

    def __init__(self, cfg: HitGraphOptions) -> None:
        self.cfg = cfg

    def __call__(self, events: list[EventGraph] | list[np.ndarray]) -> Batch:
        if isinstance(events[0], EventGraph):
            return collate_graphs(events)
        return hit_batch(events, self.cfg)


class EventGraph(NamedTuple):
    """One event's graph: node features x [n, 6], hits [n, 4], edge_index [2, e] (local
    indices, int32 to halve the cache)."""

    x: torch.Tensor
    hits: torch.Tensor
    edge_index: torch.Tensor


def collate_graphs(graphs: list[EventGraph]) -> Batch:
    """Event graphs → one PyG batch: x, hits [ΣN, ·] and edge_index [2, ΣE] concatenated, node
    indices shifted by each graph's offset, ``batch`` and ``ptr``: what ``Batch.from_data_list``
    gives (tested), in a handful of tensor operations."""
    xs, hits, edges = zip(*graphs, strict=True)
    sizes = torch.tensor([len(x) for x in xs])
    ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
    torch.cumsum(sizes, 0, out=ptr[1:])
    shift = torch.repeat_interleave(ptr[:-1], torch.tensor([e.size(1) for e in edges]))
    return Batch(
        x=torch.cat(xs),
        hits=torch.cat(hits),
        edge_index=torch.cat(edges, dim=1).long() + shift,
        batch=torch.repeat_interleave(torch.arange(len(graphs)), sizes),
        ptr=ptr,
    )


class HitDataset(Dataset):
    """Events for :class:`HitBatcher`: every event's graph (features and kNN edges,
    :class:`EventGraph`) built once, when the dataset is made, in batched kNN calls, so that a
    batch is only collated; with ``cfg.cache`` off, the hit arrays [n_i, 4], whose graphs the
    batcher builds for every batch.

    The graphs are kept packed: x [ΣN, 6], hits [ΣN, 4] and edges [2, ΣE] of all events, and
    each event's node and edge offsets; an event is a view of its rows. Loader worker processes
    receive the three tensors (one shared-memory handle each; a tensor per event would exceed
    the 251 handles a forkserver worker can be started with).
    """

    def __init__(self, hits: list[np.ndarray], cfg: HitGraphOptions, chunk: int = 256) -> None:
        self.hits = hits  # each with a graph (load_event_hits)
        self.cfg = cfg
        if cfg.cache and self.hits:
            parts = [
                packed_graphs(self.hits[i : i + chunk], cfg)
                for i in range(0, len(self.hits), chunk)
            ]
            xs, hit_rows, edges, nodes, edge_counts = zip(*parts, strict=True)
            self.x, self.hit_rows = torch.cat(xs), torch.cat(hit_rows)
            self.edges = torch.cat(edges, dim=1)
            self.node_ptr = np.concatenate([[0], np.cumsum(torch.cat(nodes).numpy())])
            self.edge_ptr = np.concatenate([[0], np.cumsum(torch.cat(edge_counts).numpy())])

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> EventGraph | np.ndarray:
        if not self.cfg.cache:
            return self.hits[index]
        index = range(len(self))[index]  # negative indices count from the end; IndexError
        nodes = slice(self.node_ptr[index], self.node_ptr[index + 1])
        edges = self.edges[:, self.edge_ptr[index] : self.edge_ptr[index + 1]]
        return EventGraph(self.x[nodes], self.hit_rows[nodes], edges)

    def __getitems__(self, indices: list[int]) -> list[EventGraph] | list[np.ndarray]:
        return [self[i] for i in indices]


def packed_graphs(
    events: list[np.ndarray], cfg: HitGraphOptions
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The events' graphs from one batched :func:`hit_batch` call, packed: x [ΣN, 6], hits
    [ΣN, 4], edges [2, ΣE] (int32, each event's local node indices, grouped by event in order),
    and the nodes [B] and edges [B] of each event."""
    batch = hit_batch(events, cfg)
    graph_of_edge = batch.batch[batch.edge_index[1]]  # edges never cross events
    order = torch.argsort(graph_of_edge, stable=True)
    edges = (batch.edge_index - batch.ptr[graph_of_edge])[:, order].int()
    edge_counts = torch.bincount(graph_of_edge, minlength=len(events))
    return batch.x, batch.hits, edges, batch.ptr.diff(), edge_counts
