"""Generate jets with a trained MPGAN into the JetNet HDF5 layout.

    python -m mpgan.generate --checkpoint runs/<run>/checkpoint.pt -n 100000 --out jets.h5

Particles are written in JetNet's physical units (ηrel, φrel, pTrel, mask), masked particles
zeroed. The generator's tanh can emit a slightly negative pTrel (down to −0.45); a particle
cannot carry negative momentum, so those are written as pTrel = 0, and their number is logged and
recorded in the file's ``provenance`` attribute. Each generated jet takes its multiplicity, and
its jet pT and η, from a random jet of the run's training file (``--data`` to use another), so
``jet_features`` = (pT, η, mass, n) with the mass computed from the generated particles
(m = pT · m/pT_rel). Prints µs per jet.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from evaluation.jet_metrics import jet_mass
from events.jetnet import read_jetnet, write_jetnet
from mpgan.data import denormalise
from mpgan.model import MPGANConfig, MPGenerator

log = logging.getLogger("mpgan.generate")


def load_generator(checkpoint: Path) -> tuple[MPGenerator, dict]:
    """The generator and the run configuration stored in a training checkpoint."""
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint")
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if "generator" not in state.get("models", {}):
        raise ValueError(f"{checkpoint}: not an MPGAN checkpoint (models: {list(state['models'])})")
    generator = MPGenerator(MPGANConfig(**state["config"]["model"]))
    generator.load_state_dict(state["models"]["generator"])
    return generator.eval(), state["config"]


@torch.no_grad()
def generate(
    generator: MPGenerator, multiplicities: torch.Tensor, batch_size: int = 4096
) -> np.ndarray:
    """Jets [N, 30, 4] in physical units for multiplicities [N], with a progress bar."""
    parts = []
    for start in tqdm(range(0, len(multiplicities), batch_size), unit="batch", desc="generate"):
        parts.append(generator.sample(multiplicities[start : start + batch_size]))
    return denormalise(torch.cat(parts).numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.generate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint")
    parser.add_argument("-n", "--num-jets", type=int, default=100_000, help="jets to generate")
    parser.add_argument("--out", type=Path, required=True, help="output JetNet HDF5 file")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="JetNet file for multiplicities, pT, η (default: the run's data)",
    )
    parser.add_argument("--batch-size", type=int, default=4096, help="jets per forward pass")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.num_jets < 1 or args.batch_size < 1:
            raise ValueError("--num-jets and --batch-size must be >= 1")
        if args.out.suffix not in (".h5", ".hdf5"):
            raise ValueError(f"{args.out}: jets are written as JetNet HDF5; use .h5 or .hdf5")
        generator, config = load_generator(args.checkpoint)
        _, real_jets = read_jetnet(args.data or Path(config["data"]["data"]))
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.generate: error: {err}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    source = real_jets[
        np.random.default_rng(args.seed).integers(len(real_jets), size=args.num_jets)
    ]
    start = time.perf_counter()
    particles = generate(generator, torch.from_numpy(source[:, 3]).long(), args.batch_size)
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
        [source[:, 0], source[:, 1], jet_mass(particles) * source[:, 0], source[:, 3]], axis=1
    ).astype(np.float32)
    provenance = {
        "generator": "mpgan",
        "checkpoint": str(args.checkpoint),
        "seed": args.seed,
        "negative_pt_clipped": int(negative.sum()),
    }
    write_jetnet(args.out, particles, jet_features, provenance=json.dumps(provenance))
    print(
        f"{args.num_jets} jets in {elapsed:.1f} s: {1e6 * elapsed / args.num_jets:.0f} µs/jet "
        f"(batch {args.batch_size}, {torch.get_num_threads()} thread(s)) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
