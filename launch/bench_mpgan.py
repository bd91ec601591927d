"""MPGAN speed: the trainer's own step and generation, fast path vs the published formulation,
for MP + MP and any other row of the MPGAN paper's Table 2.

    python -m launch.bench_mpgan                          # MP + MP, batch 128, 2 threads
    python -m launch.bench_mpgan --batch-size 256 --steps 5 --threads 2
    python -m launch.bench_mpgan --rows fc graphcnnmp treeganpnet --batch-size 0   # their batch
    python -m launch.bench_mpgan --device cuda --batch-size 256 --steps 50    # on a GPU

Both variants time the trainer's own step, :func:`distributed.loop.train_step` — the batch
from the loader, the learning rates, ``MPGANTask.step`` through the loop's update path (the
engine's optimizer wrappers, the other model frozen in each phase, the row's critic steps and
gradient penalty), the step's bookkeeping —, on jets of the training file:

- **default**: the trainer's default — ``--implementation fast`` (MP: factorised first edge
  layer, masked sum as a product, dropout masks from random bits, ``gnn/message_passing.py``;
  GraphCNN: the neighbour mean from two products, ``gnn/dynamic_edge_conditioned_conv.py``)
  under ``--amp auto``: bf16 autocast where the device computes bf16 natively (the generator's
  output layer and the discriminators' read-outs in fp32), fp32 elsewhere (``--amp`` overrides);
- **published** (the reference): the published code's formulation — MP: concatenated pairs, the
  mask multiplied in, PyTorch's dropout; GraphCNN: PyG's ``NNConv`` on the k-NN edges — in fp32.
  FC, TreeGAN and the FC and PointNet-Mix discriminators have one formulation (the published
  ops), so for their rows the two variants differ by precision alone.

A row's step is the average over its batches: with ``n_critic`` 5 (the WGAN rows) one step in
five also trains the generator, so ``--steps`` should be a multiple of 5 there (the first timed
step is batch 1, which trains it). It prints training jets/s and ms per step, generation µs/jet,
the ratio default ÷ published measured in the same process, the largest output difference
between the two on the same weights (fp32: the same maths; bf16: the precision), and the
allocator settings in effect (``launch/env.sh`` keeps large blocks in the heap; glibc's
defaults map and page-fault every 100+ MB edge tensor afresh, which costs about half the
throughput).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pandas as pd
import torch

from distributed.batches import data_loader
from distributed.config import HelpFormatter
from distributed.engine import Engine
from distributed.loop import prepare, train_step
from distributed.options import TrainOptions, amp_dtype
from distributed.runtime import init_rank
from launch.environment import MALLOC
from mpgan.model import MPGANModelOptions
from mpgan.rows import BY_DIRECTORY, Row
from mpgan.task import DEFAULT_DATA, MPGANOptions, MPGANTask

VARIANTS = {"default": "fast", "published": "published"}


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so wall-clock timers measure it (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager:
    return torch.autocast(device.type, dtype) if dtype else nullcontext()


def step_seconds(task: MPGANTask, engine: Engine, amp: str, batch: int, steps: int) -> list[float]:
    """Seconds per :func:`distributed.loop.train_step` (after one warm-up step, batch 0) at a
    global batch of ``batch`` jets, ``amp`` as the trainer's ``--amp``."""
    options = TrainOptions(global_batch_size=batch, amp=amp, loader_workers=0, log_every=10**9)
    run = prepare(task, options, engine, task.device, seed=0)
    engine.broadcast_state(task.models, run.optimizers)
    batches = iter(data_loader(task, run.sampler, 0, seed=0))
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        train_step(run, batches)  # synchronizes the device at its end
        times.append(time.perf_counter() - start)
    return times[1:]


@torch.no_grad()
def generation_us_per_jet(
    task: MPGANTask, dtype: torch.dtype | None, batch: int, repeats: int
) -> float:
    generator = task.models["generator"].eval()
    index = torch.arange(batch) % len(task.train_features)  # (an unmasked generator ignores n)
    n = torch.from_numpy(task.train_features[index, 3]).long().to(task.device)
    with autocast(task.device, dtype):
        generator.sample(n)  # warm-up
        synchronize(task.device)
        start = time.perf_counter()
        for _ in range(repeats):
            generator.sample(n)
        synchronize(task.device)
    generator.train()
    return 1e6 * (time.perf_counter() - start) / (batch * repeats)


@torch.no_grad()
def output_difference(fast: MPGANTask, published: MPGANTask, dtype: torch.dtype | None) -> float:
    """Largest |Δ| of generator jets and discriminator scores, the same weights and inputs."""
    models = [t.models[k].eval() for t in (fast, published) for k in ("generator", "discriminator")]
    g_fast, d_fast, g_pub, d_pub = models
    n = torch.from_numpy(fast.train_features[:64, 3]).long().to(fast.device)
    z = g_pub.noise(64, fast.device)
    jets = g_pub(z, n)  # (eval mode: GraphCNN's BatchNorm the same in both)
    with autocast(fast.device, dtype):
        diff = max(
            (g_fast(z, n).float() - jets).abs().max().item(),
            (d_fast(jets).float() - d_pub(jets)).abs().max().item(),
        )
    for model in models:
        model.train()
    return diff


def bench_row(
    row: Row, args: argparse.Namespace, engine: Engine, device: torch.device
) -> tuple[list[dict], dict[str, float]]:
    """The two variants of one Table 2 row: their timing rows and output differences."""
    data, model = row.task_options("g")
    batch = args.batch_size or row.defaults("g")["global_batch_size"]
    tasks = {
        name: MPGANTask(
            MPGANOptions(data=args.data, eval_jets=min(1000, batch), **data),
            MPGANModelOptions(**{**model, "implementation": impl}),
            device=str(device),
        )
        for name, impl in VARIANTS.items()
    }
    for name in ("generator", "discriminator"):  # the same weights in both
        tasks["published"].models[name].load_state_dict(tasks["default"].models[name].state_dict())
    diffs = {
        amp: output_difference(tasks["default"], tasks["published"], dtype)
        for amp, dtype in (("off", None), ("bf16", torch.bfloat16))
    }
    amps = {"default": args.amp, "published": "off"}  # the published code: fp32
    rows = []
    for name, task in tasks.items():
        dtype = amp_dtype(amps[name], str(device), task.autocast_dtype(str(device)))
        times = torch.tensor(step_seconds(task, engine, amps[name], batch, args.steps))
        us = generation_us_per_jet(task, dtype, args.generate_batch, args.repeats)
        rows.append(
            {
                "row": row.name,
                "variant": name,
                "implementation": VARIANTS[name],
                "amp": str(dtype or torch.float32).removeprefix("torch."),
                "batch": batch,
                "step_ms": 1e3 * times.mean().item(),
                "step_ms_std": 1e3 * times.std().item() if len(times) > 1 else 0.0,
                "train_jets_per_s": batch / times.mean().item(),
                "generate_us_per_jet": us,
            }
        )
    return rows, diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launch.bench_mpgan",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JetNet training file")
    parser.add_argument(
        "--batch-size", type=int, default=128, help="jets per training step (0: each row's)"
    )
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--generate-batch", type=int, default=4096, help="jets per pass")
    parser.add_argument("--repeats", type=int, default=2, help="timed generation passes")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--engine", default="auto", choices=["auto", "horovod", "torch"], help="engine"
    )
    parser.add_argument(
        "--amp",
        default="auto",
        choices=["auto", "bf16", "off"],
        help="the default variant's precision: auto = the trainer's (bf16 where native)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        default=["mp"],
        choices=list(BY_DIRECTORY),
        metavar="ROW",
        help=f"Table 2 rows by their published directory ({', '.join(BY_DIRECTORY)})",
    )
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device visible to torch")
    if args.steps < 1 or args.batch_size < 0:
        parser.error("need --steps >= 1 and --batch-size >= 0")
    engine, info = init_rank(args.engine, args.threads, seed=0)
    rows, diffs = [], {}
    for name in args.rows:
        try:
            timing, diffs[name] = bench_row(BY_DIRECTORY[name], args, engine, device)
        except (ValueError, FileNotFoundError) as err:
            parser.error(str(err))
        rows += timing
    table = pd.DataFrame(rows).set_index(["row", "variant"])
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({torch.backends.cpu.get_cpu_capability()}, bf16 "
        f"{'native' if MPGANTask.autocast_dtype('cpu') else 'emulated'})"
    )
    print(
        f"MPGAN trainer step on {where}, {info.engine}, {torch.get_num_threads()} thread(s), "
        f"{args.steps} timed steps after one warm-up; generation at batch "
        f"{args.generate_batch}, {args.repeats} passes"
    )
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    for name in args.rows:
        label = BY_DIRECTORY[name].name
        speed = (
            table.train_jets_per_s[label, "default"] / table.train_jets_per_s[label, "published"]
        )
        generation = (
            table.generate_us_per_jet[label, "published"]
            / table.generate_us_per_jet[label, "default"]
        )
        print(
            f"{label}: training default / published = {speed:.2f}x; generation: "
            f"{generation:.2f}x; largest |default − published| output difference, same weights: "
            f"{diffs[name]['off']:.2e} (fp32), {diffs[name]['bf16']:.2e} (bf16)"
        )
    if args.csv:
        table.to_csv(args.csv)
    malloc = {k: os.environ.get(k, "glibc default") for k in MALLOC}
    print("allocator (launch/env.sh): " + ", ".join(f"{k}={v}" for k, v in malloc.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
