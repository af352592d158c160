"""Checks of a config's numeric settings, shared by the trainers: a value out of range is an
InputError naming the field (with `prefix`, e.g. "lora."; prefix "--" names the command-line
option, "--max-kl" for max_kl), raised before any model loads. A number is never a bool, never
infinite and never NaN; with `empty=True` a field may also be None (a setting left unset: "or empty",
or on the command line "or the option left out"). It does
not know what the settings mean; each config says which of its fields must be what."""

from __future__ import annotations

import math
from types import SimpleNamespace

from .errors import InputError

EMPTY, EMPTY_OPTION = " or empty", " or the option left out"  # how a message says "None is allowed too"


def require(config, names: tuple[str, ...], ok, wanted: str, prefix: str = "", kinds=(int, float),
            empty: bool = False) -> None:
    """Each of `names` is a finite number of `kinds` (never a bool) for which `ok(value)` holds, or
    None where `empty`; else an InputError saying it must be `wanted` (`EMPTY` added where `empty`)."""
    for name in names:
        value = getattr(config, name)
        if empty and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or not ok(value):
            option = name.replace("_", "-") if prefix == "--" else name
            unset = (EMPTY_OPTION if prefix == "--" else EMPTY) if empty else ""
            raise InputError(f"must be {wanted}{unset}, got {value!r}", field=prefix + option)


def arguments(**values) -> SimpleNamespace:
    """A function's own arguments as an object the checks read: `whole(arguments(concurrency=c), "concurrency")`."""
    return SimpleNamespace(**values)


def whole(config, *names: str, least: int = 1, prefix: str = "", empty: bool = False) -> None:
    require(config, names, lambda v: v >= least, f"a whole number of at least {least}", prefix, kinds=int, empty=empty)


def positive(config, *names: str, prefix: str = "", empty: bool = False) -> None:
    require(config, names, lambda v: v > 0, "a number above 0", prefix, empty=empty)


def non_negative(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: v >= 0, "a number of 0 or more", prefix)


def fraction(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: 0 <= v < 1, "a number from 0 up to (not including) 1", prefix)


def unit(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: 0 <= v <= 1, "a number from 0 to 1", prefix)
