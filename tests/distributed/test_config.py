"""Dataclass configs turned into argparse options."""

from __future__ import annotations

import argparse
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
    add_dataclass_arguments(parser, ToyConfig)
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
