"""Checks of settings and arguments, shared by the configs, the trainers and the run: a value out of
range is an InputError naming the field (with `prefix`, e.g. "lora."; prefix "--" names the
command-line option, "--max-kl" for max_kl), raised before any model loads. A number is never a
bool, never infinite and never NaN; with `empty=True` a field may also be None (a setting left
unset: "or empty", on the command line "or the option left out"). `arguments` lets the same checks
read a function's own arguments; `given` turns what a caller passed as a config (None, a dict of
settings, an instance) into the config, refusing unknown names (`known_names`); `listed` turns what
it passed as a list into one. It does not know what the settings mean; each caller says which of
its fields must be what."""

from __future__ import annotations

import difflib
import math
from dataclasses import fields
from types import SimpleNamespace

from .errors import InputError

EMPTY, EMPTY_OPTION = " or empty", " or the option left out"  # how a message says "None is allowed too"


def require(config, names: tuple[str, ...], ok, wanted: str, prefix: str = "", kinds=(int, float),
            empty: bool = False, path=None) -> None:
    """Each of `names` is a finite number of `kinds` (never a bool) for which `ok(value)` holds, or
    None where `empty`; else an InputError saying it must be `wanted` (`EMPTY` added where `empty`),
    naming the file `path` too where the values were read from one."""
    for name in names:
        value = getattr(config, name)
        if empty and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or not ok(value):
            option = name.replace("_", "-") if prefix == "--" else name
            unset = (EMPTY_OPTION if prefix == "--" else EMPTY) if empty else ""
            raise InputError(f"must be {wanted}{unset}, got {value!r}", path=path, field=prefix + option)


def arguments(**values) -> SimpleNamespace:
    """A function's own arguments as an object the checks read: `whole(arguments(concurrency=c), "concurrency")`."""
    return SimpleNamespace(**values)


def whole(config, *names: str, least: int = 1, prefix: str = "", empty: bool = False, path=None) -> None:
    require(config, names, lambda v: v >= least, f"a whole number of at least {least}", prefix, kinds=int, empty=empty,
            path=path)


def positive(config, *names: str, prefix: str = "", empty: bool = False) -> None:
    require(config, names, lambda v: v > 0, "a number above 0", prefix, empty=empty)


def non_negative(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: v >= 0, "a number of 0 or more", prefix)


def fraction(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: 0 <= v < 1, "a number from 0 up to (not including) 1", prefix)


def unit(config, *names: str, prefix: str = "") -> None:
    require(config, names, lambda v: 0 <= v <= 1, "a number from 0 to 1", prefix)


def given(value, config_class, field: str = "config", prefix: str = ""):
    """`value` as a `config_class`: None = its defaults, a dict = those settings (checked by the class),
    an instance as it is; anything else is an InputError naming `field`, and a dict naming a setting
    the class lacks one naming that setting (after `prefix`: "lora.rr") with the closest known one."""
    if value is None:
        return config_class()
    if isinstance(value, config_class):
        return value
    if not isinstance(value, dict):
        raise InputError(f"must be a {config_class.__name__} or a dict of its settings, got {type(value).__name__}",
                         field=field)
    known_names(value, [f.name for f in fields(config_class) if f.init], prefix)
    return config_class(**value)


def known_names(names, known: list[str], prefix: str = "") -> None:
    """Each of `names` is one of `known`; else an InputError naming it (after `prefix`) and the closest
    known name (or all of them)."""
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known settings: {', '.join(known)}"
            raise InputError(f"unknown setting{hint}", field=f"{prefix}{name}")


def listed(value, field: str, wanted: str) -> list:
    """`value`, any iterable but a string, bytes or a dict, as a list; else an InputError naming `field`
    that says it must be `wanted` ("a list of records, ...")."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise InputError(f"must be {wanted}, got {type(value).__name__}", field=field)
    return list(value)
