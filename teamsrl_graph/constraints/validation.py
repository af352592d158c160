"""Checking constraints read from a file: known ids, and kwargs of the right names, types and ranges.

Every problem raises `InputError` naming the file, line and field ("constraints[1].kwargs.num_words"),
so a user can fix a record without guessing. Conflicts between constraints are not errors here:
a hand-written record may combine what the sampler never would.
"""

from __future__ import annotations

from ..common.errors import InputError
from .base import Param
from .registry import TYPES


def _check_value(value, spec: Param) -> str | None:
    """What is wrong with `value` under `spec`, or None."""
    if spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {type(value).__name__}"
        size = value
    elif spec.kind is str:
        if not isinstance(value, str) or not value.strip():
            return "must be a non-empty string"
        size = None
    else:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            return "must be a list of non-empty strings"
        size = len(value)
    if spec.choices and value not in spec.choices:
        return f"must be one of {', '.join(map(repr, spec.choices))}, got {value!r}"
    if size is not None and spec.low is not None and size < spec.low:
        return f"must be at least {spec.low}, got {size}"
    if size is not None and spec.high is not None and size > spec.high:
        return f"must be at most {spec.high}, got {size}"
    return None


def validate(constraints, path=None, line: int | None = None) -> None:
    """Raise InputError for the first malformed constraint in `constraints` (a list of dicts)."""
    if not isinstance(constraints, list):
        raise InputError("constraints must be a list", path=path, line=line, field="constraints")
    for n, constraint in enumerate(constraints):
        where = f"constraints[{n}]"
        if not isinstance(constraint, dict):
            raise InputError("a constraint must be an object with 'id' and 'kwargs'", path=path, line=line, field=where)
        extra = set(constraint) - {"id", "kwargs"}
        if extra:
            raise InputError(f"unknown key(s) {', '.join(sorted(extra))}", path=path, line=line, field=f"{where}.{min(extra)}")
        type_id = constraint.get("id")
        if type_id not in TYPES:
            raise InputError(f"unknown constraint id {type_id!r}", path=path, line=line, field=f"{where}.id")
        kwargs = constraint.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise InputError("kwargs must be an object", path=path, line=line, field=f"{where}.kwargs")
        params = TYPES[type_id].params
        for name in sorted(set(kwargs) - set(params)):
            raise InputError(f"unexpected argument for {type_id}", path=path, line=line, field=f"{where}.kwargs.{name}")
        for name, spec in params.items():
            if name not in kwargs:
                raise InputError(f"missing argument for {type_id}", path=path, line=line, field=f"{where}.kwargs.{name}")
            problem = _check_value(kwargs[name], spec)
            if problem:
                raise InputError(problem, path=path, line=line, field=f"{where}.kwargs.{name}")
