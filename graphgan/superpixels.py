"""Images as 75 superpixels, the "MNIST superpixels" variant of Kansal et al. 2020
(arXiv:2012.00173, after Monti et al. 2017, arXiv:1611.08402): each node a superpixel's centroid
and mean intensity.

Monti et al. published their superpixels but not how they made them (PyG's maintainer,
pyg-team/pytorch_geometric#2865), so images without such a file are cut here by scikit-image's
SLIC (Achanta et al. 2012) — ``slic(image/255, n_segments=75, compactness=1, start_label=0)``,
which gives about 81 segments on a 28 × 28 image — then the 4-adjacent pair of segments with the
closest mean intensities is merged (ties: the pair of the smaller joint area, then the lower
labels) until 75 remain; an image that SLIC cuts into fewer than 75 is cut again with more
segments first. Node = (centroid column, centroid row) in pixels and the mean intensity in
[0, 1] (PyG's ``ToSLIC`` convention), ordered by segment label; the published transform then
gives the features ``(pos − 14)/28`` and ``intensity − 0.5`` (``graph-gan mnist/
superpixels_dataset.py``).

Real superpixel files read too (:func:`read_superpixels`): Monti's ``training.pt``/``test.pt``
tuples ``(x, edge_index, edge_slice, pos, y)`` and PyG's ``MNISTSuperpixels.pt`` (a list of the
training and the test graphs as dicts). Their edges are not used: the GAN's graphs are fully
connected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.segmentation import slic

from graphgan.images import SIDE
from storage.files import read_torch_file

NODES = 75


def segment(image: np.ndarray, nodes: int = NODES) -> np.ndarray:
    """Superpixel labels 0…nodes−1 [28, 28] of one uint8 image [28, 28] (module docstring).

    Raises:
        ValueError: SLIC cannot cut the image into ``nodes`` segments (asked for up to 4× more).
    """
    scaled = image.astype(np.float64) / 255
    for asked in range(nodes, 4 * nodes + 1, 8):
        labels = slic(
            scaled, n_segments=asked, compactness=1, channel_axis=None, start_label=0,
            enforce_connectivity=True,
        )  # fmt: skip
        if labels.max() + 1 >= nodes:
            return _merge(labels, scaled, nodes)
    raise ValueError(f"SLIC cuts this image into fewer than {nodes} superpixels")


def _merge(labels: np.ndarray, image: np.ndarray, nodes: int) -> np.ndarray:
    """Merge 4-adjacent segments, closest mean intensities first, until ``nodes`` remain."""
    count = labels.max() + 1
    pairs = np.concatenate(
        [
            np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
            np.stack([labels[:-1].ravel(), labels[1:].ravel()], 1),
        ]
    )
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    owner = np.arange(count)  # segment → the segment it was merged into
    total = np.bincount(labels.ravel(), image.ravel(), minlength=count)
    area = np.bincount(labels.ravel(), minlength=count).astype(np.float64)
    for _ in range(count - nodes):
        a, b = pairs[:, 0], pairs[:, 1]
        difference = np.abs(total[a] / area[a] - total[b] / area[b])
        best = np.lexsort((b, a, area[a] + area[b], difference))[0]
        keep, gone = pairs[best]
        total[keep] += total[gone]
        area[keep] += area[gone]
        owner[owner == gone] = keep
        pairs = np.where(pairs == gone, keep, pairs)
        pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    kept, dense = np.unique(owner[labels], return_inverse=True)  # 0…nodes−1 in label order
    if len(kept) != nodes:  # SLIC's labels not 0…count−1: never seen, refused rather than NaN
        raise ValueError(f"superpixel merging left {len(kept)} segments, not {nodes}")
    return dense.reshape(labels.shape)


def superpixel_nodes(image: np.ndarray, nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """(pos [nodes, 2] = centroid (column, row) in pixels, intensity [nodes] in [0, 1]) of one
    uint8 image [28, 28]."""
    labels = segment(image, nodes).ravel()
    rows, cols = np.divmod(np.arange(SIDE * SIDE), SIDE)
    area = np.bincount(labels, minlength=nodes)
    pos = np.stack(
        [np.bincount(labels, cols, nodes) / area, np.bincount(labels, rows, nodes) / area], 1
    )
    return pos, np.bincount(labels, image.ravel() / 255, nodes) / area


def node_features(pos: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """The published features [..., 3] = ((pos − 14)/28, intensity − 0.5) of superpixels with
    ``pos`` [..., 2] in pixels and ``intensity`` [...] in [0, 1]."""
    return np.concatenate([(pos - SIDE / 2) / SIDE, intensity[..., None] - 0.5], -1).astype(
        np.float32
    )


def superpixel_graphs(images: np.ndarray, nodes: int = NODES, progress=None) -> np.ndarray:
    """Images [N, 28, 28] uint8 → node features [N, nodes, 3] float32 (module docstring);
    ``progress``: an optional callable told of each image done (a progress bar's ``update``).

    Raises:
        ValueError: not [N, 28, 28] images, or one that cannot be cut into ``nodes``.
    """
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images [N, {SIDE}, {SIDE}], got {images.shape}")
    out = np.empty((len(images), nodes, 3), np.float32)
    for i, image in enumerate(images):
        out[i] = node_features(*superpixel_nodes(image, nodes))
        if progress is not None:
            progress(1)
    return out


def read_superpixels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Real superpixel graphs: ``{"train": (features [N, 75, 3], labels [N]), "test": …}`` of
    Monti's folder (``training.pt`` and ``test.pt``, or ``raw/`` holding them) or PyG's
    ``MNISTSuperpixels.pt`` (a file, or a folder or ``raw/`` holding it).

    Raises:
        FileNotFoundError: none of those files at ``path``.
        ValueError: a file of another layout.
    """
    path = Path(path)
    for folder in (path, path / "raw"):
        if (folder / "training.pt").is_file() and (folder / "test.pt").is_file():
            return {
                "train": _monti(folder / "training.pt"),
                "test": _monti(folder / "test.pt"),
            }
        if path.is_file() or (folder / "MNISTSuperpixels.pt").is_file():
            file = path if path.is_file() else folder / "MNISTSuperpixels.pt"
            splits = read_torch_file(file, kind="superpixel file")
            if not (isinstance(splits, list | tuple) and len(splits) == 2):
                raise ValueError(f"{file}: not PyG's MNISTSuperpixels.pt ([train, test] graphs)")
            train, test = splits
            return {"train": _pyg(file, train), "test": _pyg(file, test)}
    raise FileNotFoundError(
        f"{path}: no superpixels (Monti's training.pt and test.pt, or PyG's MNISTSuperpixels.pt)"
    )


def _monti(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Monti's tuple (x [N, 75], edge_index, edge_slice, pos [N, 75, 2], y [N])."""
    content = read_torch_file(file, kind="superpixel file")
    if not (isinstance(content, tuple | list) and len(content) == 5):
        raise ValueError(f"{file}: not Monti's (x, edge_index, edge_slice, pos, y) tuple")
    x, _, _, pos, y = content
    return node_features(pos.double().numpy(), x.double().numpy()), y.long().numpy()


def _pyg(file: Path, graphs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """PyG's graphs: dicts with x [75, 1], pos [75, 2], y [1]."""
    try:
        x = np.stack([g["x"].double().numpy().reshape(-1) for g in graphs])
        pos = np.stack([g["pos"].double().numpy() for g in graphs])
        y = np.array([int(g["y"].reshape(-1)[0]) for g in graphs])
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"{file}: graphs without x [75, 1], pos [75, 2] and y ({err})") from None
    return node_features(pos, x), y
