"""A ring-allreduce (α–β) model of a scaling study, extrapolated to DGX-class GPU counts and links.

    python -m launch.scaling_model scaling_reports/<study> --gpus 8 16 64 --link nvlink
    python -m launch.scaling_model STUDY --gpus 8 64 --link ib --compute-ms 40 --overlap 0.5

Per step, a ring allreduce of G gradient bytes over p ranks costs

    t_allreduce(p) = 2 (p − 1)/p · G / B  +  2 (p − 1) · α

(bandwidth B, per-message latency α). G = parameters × bytes per parameter (4, or 2 with fp16
compression). On the study's own machine α and B are fitted (non-negative least squares) to the
measured communication time per step (``timing.jsonl``: from the last gradient to the averaged
gradients, plus the metric allreduce on logging steps); the fit is shown next to the
measurement. For the prediction, the step is compute + the part of the allreduce not hidden
behind the backward pass: t_step(p) = t_compute(p) + (1 − overlap) · t_allreduce(p), with
t_compute the measured compute of the smallest run (weak scaling) or that divided by p (strong
scaling) unless ``--compute-ms`` gives a GPU step time. Efficiency = t_step(1) / t_step(p)
(weak) or t_step(1) / (p t_step(p)) (strong). The communication time measured here also holds
the wait for the slowest rank, so the fit over-estimates communication on a busy machine.

Link presets (nominal numbers, override with --bandwidth/--latency): ``nvlink`` = DGX A100, 8 GPUs
per node on NVSwitch (NCCL allreduce bus bandwidth about 230 GB/s, α 5 µs) and, beyond one node,
the ring's slowest hop is InfiniBand; ``ib`` = every hop over HDR InfiniBand, 200 Gb/s per GPU
(about 24 GB/s, α 10 µs). Writes prediction.csv and prediction.md into the study folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from distributed.config import HelpFormatter


@dataclass(frozen=True)
class Link:
    """Ring-allreduce link parameters: bandwidth (bytes/s) and latency per message (s)."""

    bandwidth: float
    latency: float


NVLINK = Link(bandwidth=230e9, latency=5e-6)
INFINIBAND = Link(bandwidth=24e9, latency=10e-6)
GPUS_PER_NODE = 8


def ring_allreduce_time(ranks: np.ndarray | int, gradient_bytes: float, link: Link) -> np.ndarray:
    """Seconds per ring allreduce of ``gradient_bytes`` over ``ranks`` (0 for one rank)."""
    p = np.asarray(ranks, dtype=float)
    return 2 * (p - 1) / p * gradient_bytes / link.bandwidth + 2 * (p - 1) * link.latency


def fit_link(ranks: np.ndarray, allreduce_s: np.ndarray, gradient_bytes: float) -> Link:
    """α and B (non-negative) that best fit measured allreduce seconds per step (ranks > 1)."""
    p = np.asarray(ranks, dtype=float)
    keep = p > 1
    if not keep.any():
        raise ValueError("the study has no run with more than one rank: nothing to fit")
    design = np.stack([2 * (p - 1) / p * gradient_bytes, 2 * (p - 1)], axis=1)[keep]
    (inverse_bandwidth, latency), _ = nnls(design, np.asarray(allreduce_s, dtype=float)[keep])
    return Link(
        bandwidth=1 / inverse_bandwidth if inverse_bandwidth > 0 else np.inf, latency=latency
    )


def link_for(ranks: int, preset: str, override: Link | None) -> Link:
    """The link a ring over ``ranks`` GPUs runs at: its slowest hop."""
    if override is not None:
        return override
    if preset == "nvlink" and ranks <= GPUS_PER_NODE:
        return NVLINK
    return INFINIBAND


def predict(
    gpus: list[int],
    compute_s: float,
    gradient_bytes: float,
    mode: str,
    preset: str,
    overlap: float = 0.0,
    override: Link | None = None,
) -> pd.DataFrame:
    """Predicted step time and efficiency per GPU count (see the module docstring)."""
    rows = []
    for p in gpus:
        link = link_for(p, preset, override)
        compute = compute_s if mode == "weak" else compute_s / p
        allreduce = float(ring_allreduce_time(p, gradient_bytes, link))
        step = compute + (1 - overlap) * allreduce
        efficiency = compute_s / step if mode == "weak" else compute_s / (p * step)
        rows.append(
            {
                "gpus": p,
                "link_GB_per_s": link.bandwidth / 1e9,
                "latency_us": link.latency * 1e6,
                "compute_ms": 1e3 * compute,
                "allreduce_ms": 1e3 * allreduce,
                "step_ms": 1e3 * step,
                "efficiency": efficiency,
            }
        )
    return pd.DataFrame(rows)


def time_to_quality_prediction(study: Path, prediction: pd.DataFrame, mode: str) -> str:
    """For a time-to-quality study (``launch.scaling --quality``): with a fixed global batch
    (strong) every world size takes the smallest np's optimizer steps to the target, so the
    predicted time to quality is those steps × the predicted step time; with a batch per rank
    (weak) the steps to the target depend on the larger global batch's statistical efficiency,
    which the model cannot know."""
    quality = pd.read_csv(study / "quality.csv")
    curves = pd.read_csv(study / "curves.csv")
    smallest = curves[curves.np == quality.np.iloc[0]]
    reached = smallest[smallest.quality <= quality.target.iloc[0]]
    lines = [f"\n## PREDICTION: time to quality (target {quality.target.iloc[0]:.4g})\n"]
    if mode != "strong" or reached.empty:
        why = "the target was not reached" if reached.empty else "weak scaling"
        return "\n".join(
            [
                *lines,
                f"Not predicted ({why}): the optimizer steps to the target "
                "at a larger global batch are a measurement, not a model.",
                "",
            ]
        )
    steps = int(reached.step.iloc[0])
    table = prediction[["gpus", "step_ms"]].assign(
        steps_to_quality=steps, time_to_quality_s=steps * prediction.step_ms / 1e3
    )
    return "\n".join([
        *lines,
        f"Strong scaling: every world size makes the updates of np {quality.np.iloc[0]}, which "
        f"reached the target after {steps} steps; predicted time = steps × predicted step time "
        "(compute and allreduce only: no data loading, no evaluation).",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.scaling_model",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("study", type=Path, help="a folder written by launch.scaling")
    parser.add_argument(
        "--gpus", type=int, nargs="+", default=[8, 16, 64], help="world sizes to predict"
    )
    parser.add_argument(
        "--link", choices=["nvlink", "ib"], default="nvlink", help="link between GPUs"
    )
    parser.add_argument("--bandwidth", type=float, help="GB/s for every hop (overrides --link)")
    parser.add_argument("--latency", type=float, default=None, help="µs per message")
    parser.add_argument("--compute-ms", type=float, help="compute per step (default: measured)")
    parser.add_argument("--overlap", type=float, default=0.0, help="allreduce share hidden, 0–1")
    parser.add_argument("--bytes-per-param", type=int, default=4, help="4 fp32, 2 fp16 compr.")
    args = parser.parse_args(argv)
    try:
        results = pd.read_csv(args.study / "results.csv")
        env = json.loads((args.study / "environment.json").read_text())
    except FileNotFoundError as err:
        parser.error(f"{args.study} is not a scaling study: {err.filename} is missing")
    if not 0 <= args.overlap <= 1 or min(args.gpus) < 1:
        parser.error("need 0 <= --overlap <= 1 and --gpus >= 1")
    gradient_bytes = env["parameters"] * args.bytes_per_param
    measured = 1e-3 * results.communication_ms.to_numpy()
    fitted = fit_link(results.np.to_numpy(), measured, gradient_bytes)
    override = None
    if args.bandwidth is not None or args.latency is not None:
        base = link_for(max(args.gpus), args.link, None)
        override = Link(
            bandwidth=1e9 * args.bandwidth if args.bandwidth else base.bandwidth,
            latency=1e-6 * args.latency if args.latency is not None else base.latency,
        )
    compute_s = 1e-3 * (args.compute_ms or results.compute_ms.iloc[0])
    prediction = predict(
        args.gpus, compute_s, gradient_bytes, env["mode"], args.link, args.overlap, override
    )
    here = pd.DataFrame(
        {
            "np": results.np,
            "communication_ms_measured": results.communication_ms,
            "allreduce_ms_fitted": 1e3 * ring_allreduce_time(results.np, gradient_bytes, fitted),
            "efficiency_measured": results.efficiency,
        }
    )
    prediction.to_csv(args.study / "prediction.csv", index=False, float_format="%.6g")
    text = (
        f"# PREDICTION (α–β ring-allreduce model, not a measurement): {env['model']} "
        f"{env['mode']} scaling on {args.link}\n\n"
        f"Gradient {env['parameters']:,} parameters × {args.bytes_per_param} B = "
        f"{gradient_bytes / 1e6:.2f} MB per step; compute {1e3 * compute_s:.1f} ms per step "
        f"({'given' if args.compute_ms else 'measured on ' + env['host']}); overlap "
        f"{args.overlap:.0%}. `python -m launch.scaling_model {' '.join(argv or sys.argv[1:])}`"
        f"\n\n{prediction.to_markdown(index=False, floatfmt='.4g')}\n\n"
        f"## The model on the measured machine ({env['host']}, {env['cores']} cores)\n\n"
        f"Fitted: B = {fitted.bandwidth / 1e9:.3g} GB/s, α = {1e6 * fitted.latency:.3g} µs.\n\n"
        f"{here.to_markdown(index=False, floatfmt='.4g')}\n"
    )
    quality = args.study / "quality.csv"
    if quality.is_file():
        text += time_to_quality_prediction(args.study, prediction, env["mode"])
    (args.study / "prediction.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
