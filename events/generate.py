"""Generate the project's data sets: JetNet-layout jets and CMS E2E-layout calorimeter images.

    python -m events.generate jets --jet-type g -n 50000 --out data/g.hdf5
    python -m events.generate calorimeter -n 5000 --out data/calorimeter_t.h5   # or .parquet

Work is split into fixed chunks of ``--chunk`` jets, chunk k seeded with ``seed·10⁴ + k``, and
spread over ``--workers`` processes: the output depends on the seed only, not on the number of
workers. Files are written atomically (nothing half-written on failure or Ctrl-C).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from events.detector import DetectorOptions, jet_images
from events.e2e import write_e2e
from events.jetnet import jet_arrays, write_jetnet
from events.pythia import JetSourceOptions, generate_jets

log = logging.getLogger("events.generate")

# The calorimeter images follow the CMS E2E top-tagging data, which are built around AK8 jets
# (anti-kT R = 0.8) so that the whole top decay lies in the image.
CALORIMETER_RADIUS = 0.8


def jets_chunk(
    cfg: JetSourceOptions, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JetNet arrays of ``n`` jets: particle_features [n, 30, 4], jet_features [n, 4], and the
    multiplicity before the 30-particle cut [n]."""
    return jet_arrays(generate_jets(cfg, n, seed))


def calorimeter_chunk(cfg: JetSourceOptions, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Detector images [n, 3, 125, 125] and labels [n, 3] = (pt, m0, y) of ``n`` jets."""
    detector = DetectorOptions()
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for jet in generate_jets(cfg, n, seed):
        images.append(jet_images(jet, detector, rng))
        labels.append((jet.pt, jet.mass, float(cfg.jet_type == "t")))
    return np.stack(images), np.asarray(labels, dtype=np.float32)


def run_chunks(kind: str, cfg: JetSourceOptions, n: int, seed: int, chunk: int, workers: int):
    """Generate ``n`` jets in chunks over ``workers`` processes; returns the concatenated arrays."""
    work = calorimeter_chunk if kind == "calorimeter" else jets_chunk
    sizes = [min(chunk, n - start) for start in range(0, n, chunk)]
    seeds = [seed * 10_000 + k for k in range(len(sizes))]
    parts = []
    with (
        ProcessPoolExecutor(max_workers=workers) as pool,
        tqdm(total=n, unit="jet", desc=kind) as bar,
    ):
        for part in pool.map(work, [cfg] * len(sizes), sizes, seeds):
            parts.append(part)
            bar.update(len(part[0]))
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m events.generate",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("kind", choices=["jets", "calorimeter"], help="what to generate")
    parser.add_argument(
        "--jet-type",
        choices=["g", "q", "t"],
        default=None,
        help="jet class (default: g for jets, t for calorimeter)",
    )
    parser.add_argument(
        "--radius",
        type=float,
        default=None,
        help=f"anti-kT radius R (default: {JetSourceOptions.radius} for jets, the JetNet-like cone "
        f"of docs/fpnd_scan; {CALORIMETER_RADIUS} for calorimeter images, CMS AK8)",
    )
    parser.add_argument(
        "-n", "--num-jets", type=int, default=1000, help="jets to generate (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output file: .hdf5/.h5 (JetNet or E2E HDF5) or .parquet (E2E)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="base seed, 1 … 89999 (default: %(default)s)"
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=1000,
        help="jets per work unit, part of what fixes the output (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="processes (default: all cores)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.num_jets < 1 or args.chunk < 1 or args.workers < 1:
            raise ValueError("--num-jets, --chunk and --workers must be >= 1")
        if not 1 <= args.seed < 90_000:
            raise ValueError(f"--seed must be in [1, 89999], got {args.seed}")
        if args.kind == "jets" and args.out.suffix not in (".h5", ".hdf5"):
            raise ValueError(f"{args.out}: jets are written as JetNet HDF5; use .hdf5 or .h5")
        calorimeter = args.kind == "calorimeter"
        cfg = JetSourceOptions(
            jet_type=args.jet_type or ("t" if calorimeter else "g"),
            radius=args.radius
            if args.radius is not None
            else (CALORIMETER_RADIUS if calorimeter else JetSourceOptions.radius),
        )
        start = time.perf_counter()
        arrays = run_chunks(args.kind, cfg, args.num_jets, args.seed, args.chunk, args.workers)
        elapsed = time.perf_counter() - start
        if args.kind == "jets":
            settings = {**dataclasses.asdict(cfg), "seed": args.seed, "chunk": args.chunk}
            write_jetnet(args.out, *arrays, provenance=json.dumps(settings))
        else:
            images, labels = arrays
            write_e2e(args.out, images, dict(zip(("pt", "m0", "y"), labels.T, strict=True)))
    except (ValueError, FileNotFoundError) as err:
        print(f"events.generate: error: {err}", file=sys.stderr)
        return 2
    log.info(
        "%d %s-jet %s in %.0f s (%.1f jets/s per worker, %d workers) -> %s",
        args.num_jets,
        cfg.jet_type,
        args.kind,
        elapsed,
        args.num_jets / elapsed / args.workers,
        args.workers,
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
