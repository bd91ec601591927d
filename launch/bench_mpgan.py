"""MPGAN speed: training jets/s and generation µs/jet, published vs factorised first edge layer.

    python -m launch.bench_mpgan                      # train at 256, generate at 256 and 4096
    python -m launch.bench_mpgan --train-batches 256 4096 --steps 3 --threads 2
    python -m launch.bench_mpgan --device cuda --steps 20 --repeats 20     # on a GPU

Both variants hold the same weights (the factorised model loads the published one's state dict):
W[h_i ‖ h_j] is computed as W_a·h_i + W_b·h_j broadcast over pairs instead of building the
[B, N, N, 2F] pair tensor. A training step is one discriminator and one generator update
(RMSprop, least-squares loss) on random real-like jets, with the paper's discriminator dropout
(0.5) unless ``--dropout`` says otherwise; the outputs are compared without dropout. The table
ends with the ratio of the factorised to the published throughput, measured in the same
process, the largest output difference between the two, and the allocator settings in effect
(``launch/env.sh`` keeps large blocks in the heap: the default glibc settings map and
page-fault every 100+ MB edge tensor afresh, which costs about half the training throughput).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd
import torch

from launch.environment import MALLOC
from mpgan.model import MPDiscriminator, MPGANConfig, MPGenerator


def models(
    pairwise: str, dropout: float, device: torch.device, state: tuple[dict, dict] | None = None
):
    cfg = MPGANConfig(pairwise=pairwise, dropout=dropout)
    generator, discriminator = MPGenerator(cfg), MPDiscriminator(cfg)
    if state:
        generator.load_state_dict(state[0])
        discriminator.load_state_dict(state[1])
    return generator.to(device), discriminator.to(device)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so wall-clock timers measure it (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_jets_per_s(generator, discriminator, batch: int, steps: int) -> float:
    device = next(generator.parameters()).device
    opt_g = torch.optim.RMSprop(generator.parameters(), lr=1e-5)
    opt_d = torch.optim.RMSprop(discriminator.parameters(), lr=3e-5)
    n = torch.randint(1, 31, (batch,), device=device)
    real = generator.sample(n).detach()  # stands in for real jets: same shapes and masks
    elapsed = 0.0
    for step in range(steps + 1):  # the first step is warm-up
        synchronize(device)
        start = time.perf_counter()
        opt_d.zero_grad()
        fake = generator.sample(n).detach()
        loss_d = (discriminator(real) - 1).square().mean() + discriminator(fake).square().mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = (discriminator(generator.sample(n)) - 1).square().mean()
        loss_g.backward()
        opt_g.step()
        synchronize(device)
        if step:
            elapsed += time.perf_counter() - start
    return batch * steps / elapsed


@torch.no_grad()
def generation_us_per_jet(generator, batch: int, repeats: int) -> float:
    device = next(generator.parameters()).device
    n = torch.randint(1, 31, (batch,), device=device)
    generator.sample(n)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        generator.sample(n)
    synchronize(device)
    return 1e6 * (time.perf_counter() - start) / (batch * repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.bench_mpgan",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train-batches", type=int, nargs="+", default=[256])
    parser.add_argument("--generate-batches", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=2, help="timed generation passes")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument(
        "--dropout",
        type=float,
        default=MPGANConfig().dropout,
        help="discriminator dropout in the training steps (the paper's; 0 = none)",
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device visible to torch")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    published = models("concat", args.dropout, device)
    factorised = models(
        "factorised", args.dropout, device, (published[0].state_dict(), published[1].state_dict())
    )

    z, n = published[0].noise(64, device), torch.randint(1, 31, (64,), device=device)
    with torch.no_grad():
        for model in (*published, *factorised):
            model.eval()  # no dropout: the two variants must give the same outputs
        jets = published[0](z, n)
        diff = max(
            (published[0](z, n) - factorised[0](z, n)).abs().max().item(),
            (published[1](jets) - factorised[1](jets)).abs().max().item(),
        )
    rows = []
    for name, (generator, discriminator) in (("published", published), ("factorised", factorised)):
        generator.train()
        discriminator.train()
        for batch in args.train_batches:
            torch.manual_seed(1)
            rate = train_jets_per_s(generator, discriminator, batch, args.steps)
            rows.append(
                {
                    "variant": name,
                    "what": "train",
                    "batch": batch,
                    "jets/s": rate,
                    "µs/jet": 1e6 / rate,
                }
            )
        for batch in args.generate_batches:
            us = generation_us_per_jet(generator, batch, args.repeats)
            rows.append(
                {
                    "variant": name,
                    "what": "generate",
                    "batch": batch,
                    "jets/s": 1e6 / us,
                    "µs/jet": us,
                }
            )
    table = pd.DataFrame(rows)
    wide = table.pivot_table(index=["what", "batch"], columns="variant", values="jets/s")
    wide["factorised/published"] = wide["factorised"] / wide["published"]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"MPGAN on {where}, {args.threads} thread(s), {args.steps} training steps (discriminator "
        f"dropout {args.dropout}) / {args.repeats} generation passes after one warm-up each"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(wide.to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"largest |published − factorised| output difference: {diff:.2e}")
    malloc = {k: os.environ.get(k, "glibc default") for k in MALLOC}
    print("allocator (launch/env.sh): " + ", ".join(f"{k}={v}" for k, v in malloc.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
