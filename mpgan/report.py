"""MPGAN report of a checkpoint: real vs generated distributions, and a conditional model's
metrics per region (:mod:`mpgan.jet_report`).

    python -m mpgan.report --checkpoint runs/<run>/best.pt --out runs/<run>/report

- ``distributions.png``: particle features (real particles only), relative jet mass and the five
  W1EFP EFPs, real vs generated;
- ``regions/`` (conditional models): the held-out jets split into terciles of a conditioning
  feature; per region the field's metrics of generated jets against real ones, next to the
  real-vs-real value (``regions.md``, ``regions.csv``, ``regions.png``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from evaluation.jet_metrics import MetricSizes
from events.jetnet import JET_FEATURES
from mpgan.task import MPGANTask

log = logging.getLogger("mpgan.report")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.report",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--data",
        type=Path,
        help="JetNet file whose held-out jets (split as in the run) are the real ones "
        "(default: the run's)",
    )
    parser.add_argument("--feature", choices=JET_FEATURES, help="split feature (conditional)")
    parser.add_argument("--seed", type=int, default=0, help="noise and metric batches")
    parser.add_argument(
        "--metric-jets",
        type=int,
        help="at most this many jets per metric draw (default: the run's; 0 = jetnet's protocol)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        task = MPGANTask.from_checkpoint(args.checkpoint, args.data)
        if args.feature and not task.conditional:
            raise ValueError(f"{args.checkpoint}: an unconditional model has no regions")
        if args.metric_jets is not None:
            MetricSizes.at_most(args.metric_jets)  # raises on a size too small
            task.metric_jets = args.metric_jets
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.report: error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    task.report(args.out, args.feature, args.seed)
    log.info("report -> %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
