"""Checking an answer against constraints: `verify(response, constraints)` gives the strict and loose
result of each constraint and of the whole prompt (the IFEval convention). It reads text only; a
malformed constraint is named by `validation.validate`."""

from __future__ import annotations

from ..common.errors import InputError
from .base import loose_variants
from .registry import TYPES
from .validation import validate


def _passes(response: str, constraint: dict) -> tuple[bool, bool]:
    check = TYPES[constraint["id"]].check
    kwargs = constraint.get("kwargs") or {}
    strict = bool(response.strip()) and check(response, **kwargs)
    loose = strict or any(text.strip() and check(text, **kwargs) for text in loose_variants(response))
    return strict, loose


def verify(response: str, constraints: list[dict]) -> dict:
    """Strict and loose results per constraint, and whether all pass (prompt level).

    Loose also accepts the response with its first and/or last line removed, or with `*` removed
    (the IFEval convention). An empty response fails every constraint; a response that is not a string,
    or a malformed constraint, is an InputError naming it. Returns
    {"strict": bool, "loose": bool, "results": [{"id", "strict", "loose"}, ...]}.
    """
    if not isinstance(response, str):
        raise InputError(f"must be a string, got {type(response).__name__}", field="response")
    results = []
    try:
        for constraint in constraints:
            strict, loose = _passes(response, constraint)
            results.append({"id": constraint["id"], "strict": strict, "loose": loose})
    except (KeyError, TypeError, AttributeError):  # a malformed constraint: say which (validate names it)
        validate(constraints)
        raise
    return {"strict": all(r["strict"] for r in results), "loose": all(r["loose"] for r in results), "results": results}
