"""Train the graph Fréchet distance's MoNet classifier (:mod:`graphgan.monet`) on one graph
variant of a folder of images: ``python -m graphgan.classifier --dataset sparse``.

The published classifiers come with no recipe (graph-gan ships weights only); this trains the
network as PyG's ``examples/mnist_graclus.py`` trains its MoNet sibling: Adam at 0.01, divided by 10
after 15/30 and 25/30 of the epochs (PyG: from its epochs 16 and 26 of 30), batches of 64, the
negative log-likelihood of ``log_softmax(fc2(dropout(ELU(fc1))))``, on the training images (or the
first ``--train-images``), and reports the accuracy on the 10 000 test images. The file it writes
(``graphgan/classifiers/<variant>.pt`` by default, what GFD reads) holds the weights and how they
were made: variant, seed, epochs, images, test accuracy, the command.

    python -m graphgan.classifier --dataset superpixels --epochs 2 --train-images 20000
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from graphgan.data import VARIANTS, load_graphs
from graphgan.images import FASHION_MNIST
from graphgan.monet import MoNet
from storage.files import atomic_write

log = logging.getLogger("graphgan.classifier")

CLASSIFIERS = Path(__file__).parent / "classifiers"  # the committed ones, by variant


@torch.no_grad()
def accuracy(model: MoNet, graphs: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Fraction of ``graphs`` [M, N, 3] whose most likely class is their label [M]."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    right = 0
    for start in range(0, len(graphs), 256):
        batch = torch.from_numpy(graphs[start : start + 256])
        predicted = model.log_probabilities(batch, generator).argmax(1).numpy()
        right += int((predicted == labels[start : start + 256]).sum())
    return right / len(graphs)


def train(
    graphs: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    lr: float = 0.01,
) -> MoNet:
    """A MoNet trained on ``graphs`` [M, N, 3] with ``labels`` [M] (module docstring)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MoNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    milestones = [round(epochs * 15 / 30), round(epochs * 25 / 30)]  # PyG's epochs 16 and 26
    steps = (len(graphs) + batch_size - 1) // batch_size
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.1 ** sum(epoch >= m for m in milestones)
        model.train()
        order = rng.permutation(len(graphs))
        bar = tqdm(
            range(steps),
            desc=f"epoch {epoch + 1}/{epochs}",
            unit="batch",
            leave=False,
            disable=None,
        )
        for step in bar:
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = torch.from_numpy(graphs[index])
            target = torch.from_numpy(labels[index]).long()
            loss = F.nll_loss(model.log_probabilities(batch, generator), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graphgan.classifier",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", choices=VARIANTS, default="sparse", help="graph variant")
    parser.add_argument(
        "--images", type=Path, default=FASHION_MNIST, help="folder of MNIST-format images"
    )
    parser.add_argument("--epochs", type=int, default=30, help="the published example's 30")
    parser.add_argument("--train-images", type=int, default=0, help="train on the first N (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument(
        "--out", type=Path, default=None, help="default graphgan/classifiers/<dataset>.pt"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.epochs < 1 or args.train_images < 0:
        parser.error("need --epochs >= 1 and --train-images >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or CLASSIFIERS / f"{args.dataset}.pt"
    try:
        splits = load_graphs(args.images, args.dataset)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    graphs, labels = splits["train"]
    if args.train_images:
        graphs, labels = graphs[: args.train_images], labels[: args.train_images]
    started = time.time()
    model = train(graphs, labels, args.epochs, args.seed)
    test = accuracy(model, *splits["test"])
    minutes = (time.time() - started) / 60
    threads = torch.get_num_threads()
    log.info("test accuracy %.4f after %.1f min (%d threads)", test, minutes, threads)
    record = {
        "state_dict": model.state_dict(),
        "dataset": args.dataset,
        "images": str(args.images),
        "seed": args.seed,
        "epochs": args.epochs,
        "train_images": len(graphs),
        "test_accuracy": test,
        "command": " ".join(["python -m graphgan.classifier", *(argv or sys.argv[1:])]),
    }
    atomic_write(out, lambda f: torch.save(record, f))
    log.info("-> %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
