"""Loop options that need no Horovod job: learning-rate schedule, AMP choice, config files,
the best-model selection on resume."""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from distributed.batches import Prefetcher
from distributed.config import read_config_file
from distributed.options import (
    LR_RULES,
    TrainOptions,
    amp_dtype,
    batch_per_rank,
    batch_ratio,
    lr_factor,
    lr_scale,
)
from distributed.records import BestModel
from distributed.train import load_spec, main, model_parser, parse
from gvae.task import GVAETask
from mpgan.task import MPGANTask


def test_lr_scaling_and_warmup():
    assert [lr_scale(rule, 4) for rule in LR_RULES] == [1.0, 4.0, 2.0]  # none, linear, sqrt
    assert lr_factor(0, 1.0, warmup_steps=0) == 1.0
    assert lr_factor(0, 4.0, warmup_steps=0) == 4.0
    ramp = [lr_factor(s, 4.0, warmup_steps=3, scaled=True) for s in range(5)]
    assert ramp == [2.0, 3.0, 4.0, 4.0, 4.0]  # 1 → 4 linearly, then flat
    assert [lr_factor(s, 1.0, 4) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert [lr_factor(s, 1.0, 2, scaled=True) for s in range(3)] == [1.0] * 3  # k = 1: flat


def test_cosine_decay_after_warmup():
    factors = [
        lr_factor(s, 2.0, 2, "cosine", progress=s / 6, warmup_end=2 / 6, scaled=True)
        for s in range(7)
    ]
    # warm-up 1 → 2, then 2·½(1 + cos(π·t)) for t = 0, ¼, ½, ¾, 1
    expected = [1.5, 2.0, 2.0, 1 + 2**-0.5, 1.0, 1 - 2**-0.5, 0.0]
    assert factors == pytest.approx(expected, abs=1e-12)


def test_global_batch_splits_over_the_ranks_and_per_rank_batch_scales_it():
    strong = TrainOptions(global_batch_size=256)
    assert [batch_per_rank(strong, r) for r in (1, 2, 4)] == [256, 128, 64]
    assert batch_ratio(strong, 4) == 1  # the same global batch as one process
    with pytest.raises(ValueError, match="does not divide by 3 ranks"):
        batch_per_rank(strong, 3)
    assert batch_per_rank(strong, 3, strict=False) == 85  # an elastic world: rounded down
    weak = TrainOptions(batch_size=32, global_batch_size=256)  # a per-rank batch wins
    assert [batch_per_rank(weak, r) for r in (1, 4)] == [32, 32] and batch_ratio(weak, 4) == 4
    with pytest.raises(ValueError, match="global-batch-size >= 1"):
        TrainOptions(global_batch_size=0)


def test_amp_choice():
    """--amp auto is the model's precision where the device runs it natively: the MPGAN's bf16
    only on CPUs with AVX512-BF16 or AMX (emulated, and slower than fp32, elsewhere)."""
    assert amp_dtype("auto", "cpu", GVAETask.autocast_dtype("cpu")) is None
    assert GVAETask.autocast_dtype("cuda:0") is torch.float16
    flags = next(
        line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
    ).split()
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    expected = torch.bfloat16 if native else None
    assert amp_dtype("auto", "cpu", MPGANTask.autocast_dtype("cpu")) is expected
    assert amp_dtype("bf16", "cpu") is torch.bfloat16 and amp_dtype("off", "cpu") is None
    with pytest.raises(ValueError, match="fp16 needs CUDA"):
        amp_dtype("fp16", "cpu")


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_config_file_sets_defaults_and_flags_win(tmp_path, suffix):
    text = {
        ".toml": 'batch-size = 8\namp = "bf16"\n[GVAEModelOptions]\nlatent = 8\nclusters1 = 16\n',
        ".yaml": "batch_size: 8\namp: bf16\nGVAEModelOptions:\n  latent: 8\n  clusters1: 16\n",
    }[suffix]
    path = tmp_path / f"run{suffix}"
    path.write_text(text)
    _, args = parse(["gvae", "--config", str(path), "--latent", "4"])
    assert (args.batch_size, args.amp, args.clusters1) == (8, "bf16", 16)
    assert args.latent == 4  # the flag overrides the file


def gvae_actions() -> dict:
    parser = model_parser(load_spec("gvae"))
    return {a.dest: a for a in parser._actions if a.dest not in ("help", "config")}


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_option = 1\n")
    with pytest.raises(ValueError, match="unknown option.*no_such_option"):
        read_config_file(bad, gvae_actions())
    with pytest.raises(FileNotFoundError, match="no such config file"):
        read_config_file(tmp_path / "missing.toml", gvae_actions())
    broken = tmp_path / "broken.toml"
    broken.write_text("batch_size = = 3\n")
    with pytest.raises(ValueError, match="cannot parse"):
        read_config_file(broken, gvae_actions())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('lr_decay = "cosin"', "lr-decay = 'cosin': choose from constant, cosine"),
        ('amp = "fp32"', "amp = 'fp32': choose from auto, off, bf16, fp16"),
        ('batch_size = "eight"', "batch-size = 'eight': expected an integer"),
        ('lr = "fast"', "lr = 'fast': expected a number"),
        ("batch_size = 2.5", "batch-size = 2.5: expected an integer"),
        ('scale_lr = "yes"', "scale-lr = 'yes': choose from none, linear, sqrt"),
        ('edges = "none"', "edges = 'none': choose from within-channel, all"),
    ],
)
def test_config_file_values_are_checked_like_flags(tmp_path, capsys, line, message):
    """A bad value in a config file is one line on stderr and exit 2, before anything runs; the
    caller's SIGTERM handler is back afterwards (a forked pool of the caller's must still die on
    Pool.terminate()'s SIGTERM: with train's handler left behind, jetnet's EFP pool hung)."""
    path = tmp_path / "run.toml"
    path.write_text(line + "\n")
    out = tmp_path / "run"
    before = signal.getsignal(signal.SIGTERM)
    assert main(["gvae", "--config", str(path), "--out", str(out)]) == 2
    assert signal.getsignal(signal.SIGTERM) is before
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".yaml", "lr: 3e-3\nbatch_size: '8'\nbeta: 1e-4\n"),  # YAML 1.1: 3e-3 is a string
        (".toml", 'lr = "3e-3"\nbatch_size = "8"\nbeta = 1e-4\n'),
    ],
)
def test_every_value_a_flag_accepts_is_accepted_from_a_file(tmp_path, suffix, text):
    path = tmp_path / f"run{suffix}"
    path.write_text(text)
    values = read_config_file(path, gvae_actions())
    assert values == {"lr": 3e-3, "batch_size": 8, "beta": 1e-4}
    _, flags = parse(["gvae", "--lr", "3e-3", "--batch-size", "8"])
    assert (flags.lr, flags.batch_size) == (values["lr"], values["batch_size"])


def test_resume_keeps_the_best_only_if_picked_by_the_same_metric(tmp_path):
    torch.save(
        {"models": {}, "selection": {"metric": "w1m", "value": 0.01, "step": 200}},
        tmp_path / "best.pt",
    )
    same = BestModel(SimpleNamespace(selection_metric="w1m"), tmp_path, None, resume=True)
    other = BestModel(SimpleNamespace(selection_metric="fpd"), tmp_path, None, resume=True)
    fresh = BestModel(SimpleNamespace(selection_metric="w1m"), tmp_path, None, resume=False)
    assert same.best == 0.01 and other.best == fresh.best == float("inf")


def test_prefetcher_keeps_order_stops_early_and_reraises():
    with Prefetcher(range(100), depth=2) as items:
        assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]  # then leave early: no hang
    with Prefetcher(range(3)) as items:
        assert [next(items) for _ in range(3)] == [0, 1, 2]
        with pytest.raises(StopIteration):
            next(items)

    def broken():
        yield 1
        raise ValueError("bad batch")

    with Prefetcher(broken()) as items:
        assert next(items) == 1
        with pytest.raises(ValueError, match="bad batch"):
            next(items)
