"""The graph GAN's data sets: every image of a folder (training and test sets) as a graph of one
variant — ``sparse`` (100 brightest pixels, :mod:`graphgan.sparse`) or ``superpixels`` (75,
:mod:`graphgan.superpixels`) — made once and cached, one file per folder and variant.

The cache is ``data/graphgan/<folder name>-<hash>-<variant>-v<VERSION>.npz`` (train_graphs [60 000,
N, 3] float32, train_labels, test_graphs, test_labels), the hash naming the folder's files (path,
size, modification time), so that other images never reuse it. A folder of real superpixels (Monti's
``training.pt``/``test.pt`` or PyG's ``MNISTSuperpixels.pt``) is read as it is
(:func:`graphgan.superpixels.read_superpixels`).

The published trainer trains each class's model on its training and test images together
(graph-gan ``mnist/graph_dataset_mnist.py``: 7 000 per MNIST digit): :func:`class_graphs`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from graphgan.images import FASHION_MNIST, read_images
from graphgan.sparse import sparse_graphs
from graphgan.superpixels import read_superpixels, superpixel_graphs

log = logging.getLogger(__name__)

VARIANTS = ("sparse", "superpixels")
CACHE = Path("data/graphgan")
NODES = {"sparse": 100, "superpixels": 75}
VERSION = 1  # of the transforms: raise it when they change, so that no cache is reused


def _fingerprint(folder: Path) -> str:
    """8 hex digits naming a folder's files (path, size, modification time)."""
    files = sorted(p for p in folder.resolve().iterdir() if p.is_file())
    text = "\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def cache_path(images: Path, variant: str, cache: Path = CACHE) -> Path:
    """Where the graphs of ``images`` as ``variant`` are cached."""
    images = Path(images)
    return cache / f"{images.resolve().name}-{_fingerprint(images)}-{variant}-v{VERSION}.npz"


def load_graphs(
    images: Path = FASHION_MNIST, variant: str = "sparse", cache: Path = CACHE
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (graphs [N, nodes, 3] float32, labels [N]), "test": …}`` of a folder of
    MNIST-format images (:mod:`graphgan.images`) or of real superpixels, made on first use and
    cached (module docstring).

    Raises:
        FileNotFoundError: the folder holds no images (the message says what to install).
        ValueError: an unknown variant, or damaged files.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    images = Path(images)
    if variant == "superpixels":
        try:
            return read_superpixels(images)
        except FileNotFoundError:
            pass  # images, to be cut into superpixels
    if not images.is_dir():
        read_images(images, "train")  # the one-line error, with the hint for Fashion-MNIST
    path = cache_path(images, variant, cache)
    if path.is_file():
        with np.load(path) as saved:
            return {s: (saved[f"{s}_graphs"], saved[f"{s}_labels"]) for s in ("train", "test")}
    splits = {}
    for split in ("train", "test"):
        pictures, labels = read_images(images, split)
        if variant == "sparse":
            graphs = sparse_graphs(pictures)
        else:
            log.info("cutting %d %s images into superpixels (~1 ms each)", len(pictures), split)
            with tqdm(
                total=len(pictures), desc=f"superpixels ({split})", unit="image", disable=None
            ) as bar:
                graphs = superpixel_graphs(pictures, progress=bar.update)
        splits[split] = (graphs, labels)
    arrays = {f"{s}_graphs": g for s, (g, _) in splits.items()}
    arrays.update({f"{s}_labels": y for s, (_, y) in splits.items()})
    # Every rank may make the graphs at once: each writes its own file, then renames it.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("%s graphs of %s cached in %s", variant, images, path)
    return splits


def class_graphs(splits: dict[str, tuple[np.ndarray, np.ndarray]], label: int) -> np.ndarray:
    """The graphs [M, nodes, 3] of one class, training then test images (the published set).

    Raises:
        ValueError: no graph of that class.
    """
    graphs = np.concatenate([g[y == label] for g, y in splits.values()])
    if not len(graphs):
        classes = sorted(set(np.concatenate([y for _, y in splits.values()]).tolist()))
        raise ValueError(f"no graphs of class {label} (classes: {classes})")
    return graphs
