"""Training-loop options and the rules they set: how a batch splits over the ranks, the
learning-rate schedule (scaling for a larger global batch, warm-up, decay), mixed precision, and
evaluation cadence. Everything here is a pure function of the options and the world size; the
loop (:mod:`distributed.loop`) applies it.

- Global batch: ``--global-batch-size B`` splits B over the ranks (strong scaling, the updates
  of one process); ``--batch-size b`` fixes the batch per rank instead (weak scaling: a global
  batch k = ranks times one process's, k times fewer steps per epoch).
- Learning rate: base × :func:`lr_factor`: the ``--scale-lr`` rule for k (none; linear, Goyal et
  al. 2017, arXiv:1706.02677; sqrt, Malladi et al. 2022, arXiv:2205.10287), a linear warm-up,
  then constant or a half cosine to 0 at the end of ``--epochs``; measured in data, not steps, so
  the schedule survives a change of world size.
- ``--amp``: the task's native mixed precision (``auto``), bf16, fp16 (CUDA) or none.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

log = logging.getLogger(__name__)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
LR_RULES = ("none", "linear", "sqrt")


@dataclass
class TrainOptions:
    """Training loop options (shared by every model)."""

    epochs: int = field(default=1, metadata={"help": "passes over the training set"})
    steps: int = field(default=0, metadata={"help": "stop after this many steps (0 = no limit)"})
    global_batch_size: int = field(
        default=32,
        metadata={
            "help": "graphs (jets, events) per optimizer step over all ranks, split evenly "
            "(strong scaling: N ranks make the updates of one process); must divide by the ranks"
        },
    )
    batch_size: int = field(
        default=0,
        metadata={
            "help": "graphs per rank instead (weak scaling: the global batch grows with the "
            "ranks, the steps per epoch shrink; see --scale-lr); 0 = --global-batch-size / ranks"
        },
    )
    amp: str = field(
        default="auto",
        metadata={
            "help": "mixed precision: auto = the model's where the device runs it natively "
            "(GVAE: fp16 on CUDA; MPGAN: bf16 on CUDA and on CPUs with AVX512-BF16/AMX), else "
            "off; bf16 runs on every CPU, emulated (slowly) without those",
            "choices": ["auto", "off", "bf16", "fp16"],
        },
    )
    loader_workers: int = field(
        default=1,
        metadata={
            "help": "DataLoader worker processes per rank (0: in the training process — by a "
            "thread, a few batches ahead, when the rank has a core to spare beyond its torch "
            "threads, else in the step)"
        },
    )
    clip_grad: float = field(default=0.0, metadata={"help": "gradient norm clip (0 = off)"})
    scale_lr: str = field(
        default="none",
        metadata={
            "help": "learning-rate rule for a global batch k times one process's (weak scaling, "
            "k = ranks): linear = ×k (Goyal et al. 2017, SGD), sqrt = ×√k (Malladi et al. "
            "2022, Adam/RMSprop); with --global-batch-size k = 1",
            "choices": list(LR_RULES),
        },
    )
    warmup_steps: int = field(
        default=0,
        metadata={
            "help": "ramp the lr linearly over these steps: from lr to the scaled lr with "
            "--scale-lr, from 0 to lr otherwise"
        },
    )
    lr_decay: str = field(
        default="constant",
        metadata={
            "help": "after the warm-up: keep the lr, or decay it along a half cosine to 0 at "
            "the end of --epochs (--steps stops the run without changing the schedule, so a "
            "run stopped early and resumed gets the same lr at every step)",
            "choices": ["constant", "cosine"],
        },
    )
    compression: str = field(
        default="none",
        metadata={"help": "gradient compression for the allreduce", "choices": ["none", "fp16"]},
    )
    log_every: int = field(default=10, metadata={"help": "steps between metric averages"})
    evaluate: bool = field(
        default=True, metadata={"help": "evaluate and write the model's report at the end"}
    )
    eval_every: str = field(
        default="0",
        metadata={
            "help": "also evaluate every N steps (500) or N epochs (5ep), keeping the best "
            "model as best.pt by the task's selection metric (MPGAN: --selection-metric, GVAE: "
            "median EMD; 0 = at the end only)"
        },
    )
    max_nonfinite: int = field(
        default=10,
        metadata={"help": "stop after this many consecutive updates with non-finite gradients"},
    )
    checkpoint_every: int = field(
        default=0,
        metadata={"help": "also write checkpoint.pt every this many steps (0 = epoch ends only)"},
    )
    elastic: bool = field(
        default=False,
        metadata={
            "help": "Horovod elastic training (launch with horovodrun --min-np/--max-np and a "
            "--host-discovery-script; needs --out): a lost worker rolls the others back to the "
            "last commit and they continue"
        },
    )
    commit_every: int = field(
        default=10, metadata={"help": "with --elastic: steps between commits of the state"}
    )

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.steps < 0 or self.log_every < 1:
            raise ValueError("need --epochs >= 1, --steps >= 0, --log-every >= 1")
        if self.batch_size < 0 or (self.batch_size == 0 and self.global_batch_size < 1):
            raise ValueError(
                "need --global-batch-size >= 1 (or a per-rank --batch-size >= 1), got "
                f"{self.global_batch_size} and {self.batch_size}"
            )
        cadence(self.eval_every)  # ValueError if malformed
        if self.warmup_steps < 0 or self.checkpoint_every < 0 or self.commit_every < 1:
            raise ValueError(
                "need --warmup-steps >= 0, --checkpoint-every >= 0, --commit-every >= 1"
            )


def cadence(text: str) -> tuple[int, str]:
    """``"500"`` → (500, "steps"), ``"5ep"`` (or ``5epochs``) → (5, "epochs"); N = 0: never.

    Raises:
        ValueError: not a non-negative integer with an optional ``ep``/``epochs`` suffix.
    """
    text = str(text).strip().lower()
    number, unit = text, "steps"
    for suffix in ("epochs", "epoch", "ep"):
        if text.endswith(suffix):
            number, unit = text[: -len(suffix)].strip(), "epochs"
            break
    if not number.isdigit():
        raise ValueError(f"--eval-every {text!r}: expected N (steps) or Nep (epochs), e.g. 5ep")
    return int(number), unit


def amp_dtype(amp: str, device: str, auto: torch.dtype | None = None) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` on ``device`` (None = full precision); ``auto`` is what
    ``--amp auto`` means there (the task's :meth:`~distributed.task.Task.autocast_dtype`).

    Raises:
        ValueError: fp16 without CUDA.
    """
    if amp == "auto":
        return auto
    if amp == "fp16" and not device.startswith("cuda"):
        raise ValueError("--amp fp16 needs CUDA; use --amp bf16 on CPU")
    return AMP_DTYPES.get(amp)


def batch_per_rank(cfg: TrainOptions, ranks: int, strict: bool = True) -> int:
    """Graphs per rank per step: ``--batch-size``, or ``--global-batch-size`` split evenly over
    ``ranks`` (not ``strict``, after an elastic reset to a world it does not divide: rounded
    down, at least 1, with a warning).

    Raises:
        ValueError: ``strict`` and the global batch does not divide by ``ranks``.
    """
    if cfg.batch_size:
        return cfg.batch_size
    per_rank, rest = divmod(cfg.global_batch_size, ranks)
    if rest and strict:
        raise ValueError(
            f"--global-batch-size {cfg.global_batch_size} does not divide by {ranks} ranks: "
            "choose a multiple of the ranks, or a per-rank --batch-size"
        )
    if rest:
        log.warning(
            "--global-batch-size %d on %d ranks: %d per rank, a global batch of %d",
            cfg.global_batch_size,
            ranks,
            max(per_rank, 1),
            max(per_rank, 1) * ranks,
        )
    return max(per_rank, 1)


def batch_ratio(cfg: TrainOptions, ranks: int) -> int:
    """k = the global batch over one process's with the same options: ``ranks`` for a per-rank
    ``--batch-size`` (weak scaling), 1 for ``--global-batch-size`` (strong scaling)."""
    return ranks if cfg.batch_size else 1


def log_scaling(
    cfg: TrainOptions, ranks: int, per_rank: int, steps_per_epoch: int, base_lrs: Mapping
) -> None:
    """Log the global batch, the learning rates after scaling and warm-up, the optimizer steps
    per epoch, and, in one warning line, how the run's optimisation differs from one process's
    (``base_lrs``: optimizer name → the base learning rate of each parameter group)."""
    k = batch_ratio(cfg, ranks)
    scale = lr_scale(cfg.scale_lr, k)
    lrs = ", ".join(f"{name} {lr[0] * scale:.3g}" for name, lr in base_lrs.items())
    warmup = (
        f" after a {cfg.warmup_steps}-step warm-up from {'1×' if cfg.scale_lr != 'none' else '0'}"
        if cfg.warmup_steps
        else ""
    )
    log.info(
        "global batch %d = %d per rank × %d rank(s); %d optimizer steps per epoch; "
        "learning rates %s (×%.3g, --scale-lr %s)%s",
        per_rank * ranks,
        per_rank,
        ranks,
        steps_per_epoch,
        lrs,
        scale,
        cfg.scale_lr,
        warmup,
    )
    if k == 1 and cfg.scale_lr != "none" and ranks > 1:
        log.info("--scale-lr %s has nothing to scale: the global batch is fixed", cfg.scale_lr)
    if k > 1:
        log.warning(
            "weak scaling: a global batch %d× one process's, so %d× fewer optimizer steps per "
            "epoch at %s× the learning rate%s; --global-batch-size %d keeps one process's updates",
            k,
            k,
            f"{scale:.3g}",
            " (expect a worse model for the same epochs)" if cfg.scale_lr == "none" else "",
            cfg.batch_size,
        )


def lr_scale(rule: str, k: float) -> float:
    """The learning-rate multiplier of ``rule`` (:data:`LR_RULES`) for a global batch ``k``
    times the reference one: 1 (none), k (linear: Goyal et al. 2017, arXiv:1706.02677) or √k
    (sqrt: Malladi et al. 2022, arXiv:2205.10287, for adaptive optimizers)."""
    return {"none": 1.0, "linear": k, "sqrt": math.sqrt(k)}[rule]


def lr_factor(
    step: int,
    target: float,
    warmup_steps: int,
    decay: str = "constant",
    progress: float = 0.0,
    warmup_end: float = 0.0,
    scaled: bool = False,
) -> float:
    """Learning-rate multiplier at ``step`` (0-based): ``target`` (:func:`lr_scale`), reached
    linearly over ``warmup_steps`` — from 1 with a ``--scale-lr`` rule (``scaled``: Goyal et
    al.'s gradual warm-up from one process's lr), from 0 without — then constant, or with
    ``decay="cosine"`` multiplied by ½(1 + cos(π·t)), t
    running from 0 at the end of the warm-up to 1 at the end of the schedule. ``progress`` is
    the fraction of the schedule (``--epochs``) done before this step and ``warmup_end`` the
    fraction at which the warm-up ends; both count data, not steps, so that the schedule stays
    the same when the number of ranks changes."""
    if step < warmup_steps:
        start = 1.0 if scaled else 0.0
        return start + (target - start) * (step + 1) / warmup_steps
    if decay == "constant" or warmup_end >= 1.0:
        return target
    t = min(max((progress - warmup_end) / (1.0 - warmup_end), 0.0), 1.0)
    return target * 0.5 * (1.0 + math.cos(math.pi * t))
