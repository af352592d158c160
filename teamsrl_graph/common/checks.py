"""Checks of a config's numeric settings, shared by the trainers: a value out of range is an
InputError naming the field (with `prefix`, e.g. "lora."), raised before any model loads. It does
not know what the settings mean; each config says which of its fields must be what."""

from __future__ import annotations

from .errors import InputError


def whole(config, *names: str, least: int = 1, prefix: str = "") -> None:
    """Each of `names` is a whole number (not a bool) of at least `least`."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InputError(f"must be a whole number of at least {least}, got {value!r}", field=prefix + name)


def positive(config, *names: str, prefix: str = "") -> None:
    """Each of `names` is a number above 0."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InputError(f"must be a number above 0, got {value!r}", field=prefix + name)


def non_negative(config, *names: str, prefix: str = "") -> None:
    """Each of `names` is a number of 0 or more."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise InputError(f"must be a number of 0 or more, got {value!r}", field=prefix + name)


def fraction(config, *names: str, prefix: str = "") -> None:
    """Each of `names` is a number in [0, 1)."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise InputError(f"must be a number from 0 up to (not including) 1, got {value!r}", field=prefix + name)
