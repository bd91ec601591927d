"""Generate jets with a trained MPGAN into the JetNet HDF5 layout.

    python -m mpgan.generate --checkpoint runs/<run>/best.pt -n 100000 --out jets.h5
    python -m mpgan.generate --checkpoint C -n 50000 --conditions analysis_jets.h5 --out jets.h5
    python -m mpgan.generate --checkpoint C -n 10000 --condition pt=1200,eta=0.1 --out jets.h5

Each generated jet takes its multiplicity (and, for a conditional model, its labels) from a
source jet: by default random jets of the run's training file (``--data`` for another); with
``--conditions FILE`` the jets of that JetNet file in order (cycled), for the kinematics of an
analysis; with ``--condition name=value,...`` fixed labels for every jet (all the model's
conditioning features), multiplicities from random training jets. ``jet_features`` = (pT, η,
mass, n): pT and η from the labels or the source jet, the mass from the generated particles
(m = pT · m/pT_rel), n from the mask; a conditional model's raw labels are also written as the
dataset ``conditions`` [N, L], in the order of ``condition`` in the ``provenance`` attribute.

Particles are written in JetNet's physical units (ηrel, φrel, pTrel, mask), masked particles
zeroed. The generator's tanh can emit a slightly negative pTrel (down to −0.45); a particle
cannot carry negative momentum, so those are written as pTrel = 0, and their number is logged and
recorded in the file's ``provenance`` attribute. Runs under bf16 autocast where the device
computes bf16 natively (``--amp auto``: CUDA, CPUs with AVX512-BF16/AMX; fp32 elsewhere);
prints µs per jet.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from evaluation.jet_metrics import relative_jet_mass
from events.jetnet import JET_FEATURES, read_jetnet, write_jetnet
from mpgan.labels import label_columns
from mpgan.model import autocast_dtype
from mpgan.task import MPGANTask

log = logging.getLogger("mpgan.generate")


def parse_fixed(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """``"pt=1200,eta=0.1"`` → {"pt": 1200.0, "eta": 0.1}; must name exactly ``names``."""
    values = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--condition {text!r}: {item!r} is not name=number") from None
    if set(values) != set(names):
        raise ValueError(
            f"--condition {text!r}: this model is conditioned on {', '.join(names) or 'nothing'}"
        )
    return values


def source_jets(task: MPGANTask, args: argparse.Namespace, rng: np.random.Generator) -> np.ndarray:
    """The jet features [N, 4] (pT, η, mass, n) the generated jets take their multiplicities and
    labels from (see module docstring)."""
    names = task.models["generator"].cfg.labels
    if args.conditions is not None:
        if not names:
            raise ValueError("--conditions: this model is not conditional")
        _, features = read_jetnet(args.conditions)
        return features[np.arange(args.num_jets) % len(features)]
    features = task.train_features[rng.integers(len(task.train_features), size=args.num_jets)]
    if args.condition is not None:
        for name, value in parse_fixed(args.condition, names).items():
            features[:, JET_FEATURES.index(name)] = value
    return features


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.generate",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint")
    parser.add_argument(
        "-n",
        "--num-jets",
        type=int,
        default=100_000,
        help="jets to generate (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output JetNet HDF5 file")
    parser.add_argument(
        "--data", type=Path, help="JetNet file of the source jets (if unset: the run's training)"
    )
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--conditions", type=Path, help="JetNet file whose jets give the labels")
    labels.add_argument("--condition", help="fixed labels, e.g. pt=1200,eta=0.1")
    parser.add_argument(
        "--batch-size", type=int, default=4096, help="jets per forward pass (default: %(default)s)"
    )
    parser.add_argument(
        "--amp",
        choices=["auto", "bf16", "off"],
        default="auto",
        help="autocast: auto = bf16 where native, else fp32 (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.num_jets < 1 or args.batch_size < 1:
            raise ValueError("--num-jets and --batch-size must be >= 1")
        if args.out.suffix not in (".h5", ".hdf5"):
            raise ValueError(f"{args.out}: jets are written as JetNet HDF5; use .h5 or .hdf5")
        task = MPGANTask.from_checkpoint(args.checkpoint, args.data)
        source = source_jets(task, args, np.random.default_rng(args.seed))
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.generate: error: {err}", file=sys.stderr)
        return 2
    dtype = {"auto": autocast_dtype("cpu"), "bf16": torch.bfloat16, "off": None}[args.amp]
    autocast = torch.autocast("cpu", dtype) if dtype else nullcontext()
    start = time.perf_counter()
    with autocast:
        particles = task.generate(args.num_jets, args.batch_size, args.seed, source)
    elapsed = time.perf_counter() - start
    negative = particles[..., 2] < 0
    if negative.any():
        log.warning(
            "%d of %d generated particles have pT < 0: written as pT = 0",
            negative.sum(),
            (particles[..., 3] > 0).sum(),
        )
        particles[..., 2][negative] = 0.0
    jet_features = np.stack(
        [
            source[:, 0],
            source[:, 1],
            relative_jet_mass(particles) * source[:, 0],
            (particles[..., 3] > 0).sum(1),
        ],
        axis=1,
    ).astype(np.float32)
    names = task.models["generator"].cfg.labels
    provenance = {
        "generator": "mpgan",
        "checkpoint": str(args.checkpoint),
        "seed": args.seed,
        "labels": "file" if args.conditions else "fixed" if args.condition else "training jets",
        "condition": list(names),
        "negative_pt_clipped": int(negative.sum()),
    }
    extra = {"conditions": source[:, label_columns(names)]} if names else {}
    write_jetnet(args.out, particles, jet_features, provenance=json.dumps(provenance), extra=extra)
    print(
        f"{args.num_jets} jets in {elapsed:.1f} s: {1e6 * elapsed / args.num_jets:.0f} µs/jet "
        f"(batch {args.batch_size}, {dtype or torch.float32}, {torch.get_num_threads()} thread(s)) "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
