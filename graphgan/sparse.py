"""Sparse images as graphs: the brightest pixels of each image as nodes (x, y, intensity), the
"sparse MNIST" of Kansal et al. 2020 (arXiv:2012.00173; rkansal47/graph-gan
``mnist/graph_dataset_mnist.py``).

Pixel (row r, column c) of a 28 × 28 image with value p ∈ 0…255 is the node

    x = −0.5 + c/28,   y = −0.5 + r/28,   I = (p − 127.5)/255

(the pixel's corner, not its centre: x, y ∈ [−0.5, 0.4643]; I ∈ [−0.5, 0.5]). An image keeps its
``nodes`` (100) brightest pixels, in ascending intensity (brightest last). Ties at the
threshold: the published code sorts with NumPy's default, unstable sort, so which of several
equally bright pixels survive depends on the sort's implementation (on Fashion-MNIST the chosen
set differs from a stable sort's for 63 % of images); here a stable sort decides — of equally
bright pixels, the later ones in row-major order are kept. An image with fewer bright pixels
than ``nodes`` fills up with background (I = −0.5) pixels by the same rule.
"""

from __future__ import annotations

import numpy as np

from graphgan.images import SIDE

NODES = 100  # the paper's sparse MNIST


def pixel_coordinates() -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every pixel in row-major order, [784] each (the published ``meshgrid``)."""
    grid = np.linspace(-0.5, 0.5, SIDE, endpoint=False, dtype=np.float32)
    xs, ys = np.meshgrid(grid, grid)  # xs varies along a row (the column), ys down the rows
    return xs.ravel(), ys.ravel()


def sparse_graphs(images: np.ndarray, nodes: int = NODES) -> np.ndarray:
    """Images [N, 28, 28] uint8 → node features [N, nodes, 3] float32 = (x, y, I), each image's
    ``nodes`` brightest pixels in ascending intensity (see module docstring for ties).

    Raises:
        ValueError: not [N, 28, 28] images, or ``nodes`` outside 1…784.
    """
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images [N, {SIDE}, {SIDE}], got {images.shape}")
    if not 1 <= nodes <= SIDE * SIDE:
        raise ValueError(f"nodes must be in 1…{SIDE * SIDE}, got {nodes}")
    intensity = (images.reshape(len(images), -1).astype(np.float32) - 127.5) / 255
    keep = np.argsort(intensity, axis=1, kind="stable")[:, -nodes:]  # ascending, ties by index
    xs, ys = pixel_coordinates()
    return np.stack(
        [xs[keep], ys[keep], np.take_along_axis(intensity, keep, axis=1)], axis=-1
    ).astype(np.float32)
