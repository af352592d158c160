"""Command-line options that mirror fields of a config dataclass, declared once as a table.

A table maps a flag to (field name, type, help); the default shown and used is the dataclass's own.
"""

from __future__ import annotations


def add_config_options(parser, table: dict, config_class):
    """One option per table entry, defaulting to `config_class`'s value of the field."""
    for flag, (name, kind, help_text) in table.items():
        default = getattr(config_class, name)
        parser.add_argument(flag, dest=name, type=kind, default=default, metavar=flag[2:].upper().replace("-", "_"),
                            help=f"{help_text} (default: {default})")


def config_values(args, table: dict) -> dict:
    """{field name: parsed value} for every table entry, to build the config with."""
    return {name: getattr(args, name) for name, *_ in table.values()}
