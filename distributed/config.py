"""Dataclass configs ⇄ argparse: each config field becomes a ``--flag`` showing its default.

A field's help text is its ``metadata["help"]``; booleans become ``--flag/--no-flag``.
:func:`read_config_file` reads ``--config FILE`` (TOML or YAML): option names as keys
(``batch_size`` or ``batch-size``), optionally grouped in tables, which are flattened; each value
is checked as its flag would be (type, choices) — a string is parsed as the flag parses its
text, so ``lr: 3e-3`` (a string to YAML 1.1) works as ``--lr 3e-3`` does —, so a typo fails
with one line instead of running something else.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import yaml

T = TypeVar("T")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default once: not after options without one (None) or whose help
    already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if any(action.default is v for v in (None, False, argparse.SUPPRESS)) or "default" in text:
            return text
        return super()._get_help_string(action)


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls``, in a group ``title``
    described by the first line of the class docstring."""
    hints = get_type_hints(cls)
    group = parser.add_argument_group(title, (cls.__doc__ or "").strip().splitlines()[0])
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


def read_config_file(path: Path, actions: Mapping[str, argparse.Action]) -> dict[str, Any]:
    """Options from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, keyed by argparse dest.

    ``actions`` maps each valid dest to its argparse action, whose type and choices every value
    must pass. Raises ``FileNotFoundError`` or ``ValueError`` (bad syntax, unknown option, bad
    value) naming the file.
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
    return check_options(str(path), options, actions)


def check_options(
    origin: str, options: Mapping[str, Any], actions: Mapping[str, argparse.Action]
) -> dict[str, Any]:
    """``options`` (dest → value) each parsed as its flag would be; ``ValueError`` naming
    ``origin`` (a file, a preset) on an unknown option or a value its flag rejects."""
    unknown = sorted(set(options) - set(actions))
    if unknown:
        raise ValueError(f"{origin}: unknown option(s) {', '.join(unknown)}")
    return {key: _checked(origin, actions[key], value) for key, value in options.items()}


def _checked(path: str, action: argparse.Action, value: Any) -> Any:
    """``value`` as its flag would parse it, or ``ValueError`` saying what the flag accepts."""
    name = action.option_strings[0].lstrip("-")
    if (
        isinstance(action, argparse.BooleanOptionalAction)
        or action.type is None
        and (isinstance(action.default, bool))
    ):
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {name} = {value!r}: expected true or false")
        return value
    kind = action.type
    if kind in (int, float):
        # A string is parsed as the flag parses its text (YAML 1.1 reads 3e-3 as a string).
        expected = "an integer" if kind is int else "a number"
        numeric = (int,) if kind is int else (int, float)
        if isinstance(value, str):
            try:
                value = kind(value.strip())
            except ValueError:
                raise ValueError(f"{path}: {name} = {value!r}: expected {expected}") from None
        elif isinstance(value, bool) or not isinstance(value, numeric):
            raise ValueError(f"{path}: {name} = {value!r}: expected {expected}")
        value = kind(value)
    elif kind is not None:
        value = kind(str(value))
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise ValueError(f"{path}: {name} = {value!r}: choose from {choices}")
    return value
