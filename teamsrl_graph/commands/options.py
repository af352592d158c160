"""Command-line options that mirror fields of a config dataclass, so a default is written once: in
the dataclass.

`add_fields` makes one `--field-name` option per field, with the field's type, default and the
description in its metadata (`context.setting`); `field_values` reads them back. `add_config_options`
does the same from a table of renamed flags (flag -> field, type, help) for configs whose option
names differ from their fields. `Renamed` keeps an option's old spellings working as deprecated
aliases (one name for one meaning across the commands: `--answer-tokens` for an answer's new-token
cap, `--heldout` for a fraction held out, `--heldout-records` for a file of held-out records).
`at_least(n)` is an argument type for a whole number of at least n.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields

TYPES = {"int": int, "float": float, "str": str}


def _kind(annotation) -> type:
    """int, float or str from a field's annotation (a string under `from __future__ import annotations`)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    names = [part.strip() for part in text.split("|") if part.strip() != "None"]
    return TYPES.get(names[0], str) if names else str


def add_fields(parser, config_class, names=None, defaults: dict | None = None):
    """One option per field of `config_class` that has a description (or per field in `names`);
    `defaults` overrides the dataclass's default of some fields."""
    defaults = defaults or {}
    for f in fields(config_class):
        if (names is not None and f.name not in names) or (names is None and "description" not in f.metadata):
            continue
        default = defaults.get(f.name, f.default if f.default is not MISSING else None)
        shown = "" if default is None else f" (default: {default})"
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=_kind(f.type), default=default,
                            help=f.metadata.get("description", "") + shown)


def field_values(args, config_class, names=None) -> dict:
    """{field: parsed value} for the options `add_fields` made."""
    return {f.name: getattr(args, f.name) for f in fields(config_class)
            if (f.name in names if names is not None else "description" in f.metadata) and hasattr(args, f.name)}


def as_options(error):
    """An `InputError` about a config field, reworded to name the command-line option instead (and to
    say that a setting that may be unset is one whose option is left out)."""
    from ..common.checks import EMPTY, EMPTY_OPTION
    from ..common.errors import InputError

    if not error.field or error.field.startswith("-"):
        return error
    message = error.message.replace(f"{EMPTY}, got ", f"{EMPTY_OPTION}, got ")
    return InputError(message, path=error.path, line=error.line, field=f"--{error.field.replace('_', '-')}")


def add_config_options(parser, table: dict, config_class):
    """One option per table entry, defaulting to `config_class`'s value of the field."""
    for flag, (name, kind, help_text) in table.items():
        default = getattr(config_class, name)
        parser.add_argument(flag, dest=name, type=kind, default=default, metavar=flag[2:].upper().replace("-", "_"),
                            help=f"{help_text} (default: {default})")


def config_values(args, table: dict) -> dict:
    """{field name: parsed value} for every table entry, to build the config with."""
    return {name: getattr(args, name) for name, *_ in table.values()}


def at_least(low: int):
    """An argparse type: a whole number of at least `low`, else a usage error saying which."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


class Renamed(argparse.Action):
    """Stores the value like the default action; an option string other than the first (the current
    name) is an old spelling that still works, with a warning on stderr naming the current one.
    Use: `parser.add_argument("--answer-tokens", "--max-new-tokens", action=Renamed, type=int, ...)`."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string and option_string != self.option_strings[0]:
            print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.option_strings[0]}",
                  file=sys.stderr)
        setattr(namespace, self.dest, values)
