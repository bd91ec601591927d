"""Dataclass configs turned into argparse options."""

from __future__ import annotations

import argparse
import runpy
import sys
from dataclasses import dataclass, field

import pytest

from distributed.config import add_dataclass_arguments, dataclass_from_args


@dataclass
class ToyConfig:
    """A config for the test."""

    steps: int = field(default=3, metadata={"help": "number of steps"})
    learning_rate: float = 0.5
    amp: str = field(default="off", metadata={"choices": ["off", "bf16"]})
    shuffle: bool = True


def parse(argv: list[str]) -> ToyConfig:
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, ToyConfig, "toy")
    return dataclass_from_args(ToyConfig, parser.parse_args(argv))


def test_defaults_and_overrides():
    assert parse([]) == ToyConfig()
    cfg = parse(["--steps", "7", "--learning-rate", "1e-3", "--amp", "bf16", "--no-shuffle"])
    assert cfg == ToyConfig(steps=7, learning_rate=1e-3, amp="bf16", shuffle=False)
    assert isinstance(cfg.learning_rate, float)


def test_bad_choice_and_type_are_rejected():
    with pytest.raises(SystemExit):
        parse(["--amp", "fp8"])
    with pytest.raises(SystemExit):
        parse(["--steps", "many"])


def test_help_shows_group_titles_and_each_default_once(capsys):
    from distributed.train import load_spec, model_parser

    with pytest.raises(SystemExit):
        model_parser(load_spec("mpgan")).parse_args(["--help"])
    text = capsys.readouterr().out
    assert "\ndata:\n" in text and "\nmodel:\n" in text and "\ntraining:\n" in text
    assert (
        "MPGANOptions" not in text
        and "MPGANModelOptions" not in text
        and "TrainOptions" not in text
    )
    assert "(default: None)" not in text
    assert text.count("(default: runs/<UTC time>-MODEL)") == 1 and "(default: 256)" in text
    assert "(default: 0)" in text  # --seed: a default of 0 is a default, not "unset"


@pytest.mark.parametrize(
    "module", ["mpgan.generate", "mpgan.report", "gvae.report", "events.generate", "events.report"]
)
def test_tool_help_has_no_empty_defaults(module, capsys, monkeypatch):
    """Every command-line tool's --help, not only the trainer's, shows no "(default: None)"."""
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(module, run_name="__main__")
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "usage:" in out and "(default: None)" not in out
