"""Dataclass configs ⇄ argparse: each config field becomes a ``--flag`` showing its default.

A field's help text is its ``metadata["help"]``; booleans become ``--flag/--no-flag``.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls``."""
    hints = get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__, (cls.__doc__ or "").strip().splitlines()[0])
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        help_text = field.metadata.get("help", " ")
        if kind is bool:
            group.add_argument(
                flag,
                dest=field.name,
                default=field.default,
                action=argparse.BooleanOptionalAction,
                help=help_text,
            )
        else:
            group.add_argument(
                flag,
                dest=field.name,
                default=field.default,
                type=kind,
                choices=field.metadata.get("choices"),
                help=help_text,
            )


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """Build ``cls`` from the parsed options that :func:`add_dataclass_arguments` added."""
    values: dict[str, Any] = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}
    return cls(**values)
