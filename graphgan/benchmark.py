"""Benchmark of the graph Fréchet distance: ``python -m graphgan.benchmark``.

Times GFD's features (:func:`graphgan.gfd.features`: the radius graph, three GMMConv layers,
two graclus poolings, fc1) of ``--graphs`` real sparse Fashion-MNIST graphs (8 192, the paper's
count) with the project's MoNet, and, on ``--reference-graphs`` of them, the same network with
PyG's ``GMMConv`` call (the straightforward port; graclus is the project's in both, PyG's needs
pyg-lib), in the same process. Prints graphs/s of both, their ratio, the time of a full GFD
(features and the Fréchet distance against the class's statistics) and the largest difference
of the two formulations' features.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from graphgan.classifier import CLASSIFIERS
from graphgan.data import class_graphs, load_graphs
from graphgan.gfd import GraphFrechetDistance, features, load_classifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graphgan.benchmark",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--graphs", type=int, default=8192)
    parser.add_argument("--reference-graphs", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", default="sparse", choices=["sparse", "superpixels"])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    splits = load_graphs(variant=args.dataset)
    graphs = np.concatenate([g for g, _ in splits.values()])[: args.graphs]
    classifier, _ = load_classifier(CLASSIFIERS / f"{args.dataset}.pt")
    reference = graphs[: args.reference_graphs]

    def rate(fast: bool, data: np.ndarray) -> tuple[float, np.ndarray]:
        classifier.fast = fast
        start = time.perf_counter()
        out = features(classifier, data)
        return len(data) / (time.perf_counter() - start), out

    slow_rate, slow = rate(False, reference)
    fast_rate, fast = rate(True, reference)
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads, {args.dataset}")
    print(f"PyG GMMConv:     {slow_rate:8.1f} graphs/s ({len(reference)} graphs)")
    print(f"project's MoNet: {fast_rate:8.1f} graphs/s ({len(reference)} graphs)")
    difference = abs(fast - slow).max()
    print(f"ratio {fast_rate / slow_rate:.2f}x; largest feature difference {difference:.2e}")
    gfd = GraphFrechetDistance(classifier, class_graphs(splits, 3)[:2000])
    start = time.perf_counter()
    value = gfd(graphs)
    seconds = time.perf_counter() - start
    print(f"GFD of {len(graphs)} graphs against class 3: {value:.4f} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
