"""Choosing constraint types from what the model's answers show: a Beta-Bernoulli posterior of each
type's pass rate, drawn from by Thompson sampling with a floor so that no type is starved.

`TypeDraw.pick(rng, allowed)` picks uniformly among `allowed` with probability `explore` (1/2 by
default), else the type whose posterior sample is best. Every allowed type therefore keeps at least
`explore / len(allowed)` of the picks, half its uniform share by default, whatever was observed.
"best" is the highest sampled pass rate (`favour="pass"`: more answers that verify) or the lowest
(`favour="fail"`: more of what the model gets wrong). `type_mix` summarises which types a set of
records drew, for reports. This module neither samples kwargs nor verifies answers.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

from ..common.errors import InputError

FAVOURS = ("pass", "fail")


class TypeDraw:
    """Thread-safe per-type posterior Beta(1 + passes, 1 + fails) and the draw that uses it."""

    def __init__(self, explore: float = 0.5, favour: str = "pass"):
        if not 0 < explore <= 1:
            raise ValueError(f"explore must be in (0, 1], not {explore}")
        if favour not in FAVOURS:
            raise ValueError(f"favour must be one of {FAVOURS}, not {favour!r}")
        self.explore = explore  # probability of a uniform pick among the allowed types (the floor)
        self.favour = favour  # "pass": prefer high sampled pass rates; "fail": prefer low ones
        self._counts: dict[str, list[int]] = {}  # type id -> [passes, fails]
        self._lock = threading.Lock()

    def pick(self, rng: random.Random, allowed: list[str]) -> str:
        """One of `allowed`: uniform with probability `explore`, else the Thompson choice."""
        if not allowed:
            raise ValueError("no type is allowed")
        allowed = sorted(allowed)
        if rng.random() < self.explore:
            return rng.choice(allowed)
        sign = 1 if self.favour == "pass" else -1
        with self._lock:
            counts = {t: tuple(self._counts.get(t, (0, 0))) for t in allowed}
        return max(allowed, key=lambda t: sign * rng.betavariate(1 + counts[t][0], 1 + counts[t][1]))

    def update(self, type_id: str, passed: bool) -> None:
        """Record one verified answer to a constraint of `type_id`."""
        with self._lock:
            self._counts.setdefault(type_id, [0, 0])[0 if passed else 1] += 1

    def posterior(self, type_id: str) -> tuple[int, int]:
        """(alpha, beta) of the type's Beta posterior."""
        with self._lock:
            passes, fails = self._counts.get(type_id, (0, 0))
        return 1 + passes, 1 + fails

    def state(self) -> dict:
        """A JSON-ready snapshot: settings, and per type passes, fails and posterior mean."""
        with self._lock:
            counts = {t: tuple(c) for t, c in sorted(self._counts.items())}
        return {
            "explore": self.explore, "favour": self.favour, "prior": [1, 1],
            "types": {t: {"passes": p, "fails": f, "mean": round((1 + p) / (2 + p + f), 6)} for t, (p, f) in counts.items()},
        }

    @classmethod
    def from_state(cls, state: dict, source: str = "<state>") -> "TypeDraw":
        """The draw a `state()` snapshot describes; a bad field raises InputError naming it."""
        if not isinstance(state, dict):
            raise InputError("not an object", path=source, field="state")
        try:
            draw = cls(explore=state.get("explore", 0.5), favour=state.get("favour", "pass"))
        except (TypeError, ValueError) as error:
            raise InputError(str(error), path=source, field="explore/favour") from None
        types = state.get("types", {})
        if not isinstance(types, dict):
            raise InputError("not an object", path=source, field="types")
        for type_id, entry in types.items():
            for key in ("passes", "fails"):
                value = entry.get(key) if isinstance(entry, dict) else None
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise InputError("must be a non-negative integer", path=source, field=f"types.{type_id}.{key}")
            draw._counts[type_id] = [entry["passes"], entry["fails"]]
        return draw


def type_mix(constraint_lists: list[list[dict]]) -> dict:
    """{"counts": {type_id: n}, "entropy_bits": H} over every constraint in `constraint_lists`.

    H is the Shannon entropy (base 2) of the drawn types' frequencies: log2(24) ≈ 4.585 when all 24
    types are drawn equally often, 0 when one type is all there is (or nothing was drawn).
    """
    counts = Counter(c["id"] for constraints in constraint_lists for c in constraints)
    total = sum(counts.values())
    entropy = -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0
    return {"counts": dict(sorted(counts.items())), "entropy_bits": round(abs(entropy), 6)}
