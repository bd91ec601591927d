"""Dataclass configs ⇄ argparse: each config field becomes a ``--flag`` showing its default.

A field's help text is its ``metadata["help"]``; booleans become ``--flag/--no-flag``.
:func:`read_config_file` reads ``--config FILE`` (TOML or YAML): option names as keys
(``batch_size`` or ``batch-size``), optionally grouped in tables, which are flattened.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import yaml

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


def read_config_file(path: Path, valid: set[str]) -> dict[str, Any]:
    """Options from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, keyed by argparse dest.

    Raises ``FileNotFoundError`` or ``ValueError`` (bad syntax, unknown option) naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        if path.suffix == ".toml":
            raw = tomllib.loads(path.read_text())
        elif path.suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(path.read_text()) or {}
        else:
            raise ValueError(f"{path}: config files are .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot parse ({err})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of option names to values")
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        flat.update(value if isinstance(value, dict) else {key: value})
    options = {key.replace("-", "_"): value for key, value in flat.items()}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {', '.join(unknown)}")
    return {k: str(v) if isinstance(v, str) else v for k, v in options.items()}
