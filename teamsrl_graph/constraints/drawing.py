"""Choosing constraint types from what the model's answers show: a Beta-Bernoulli posterior of each
type's pass rate, drawn from by posterior sampling with a floor so that no type is starved.

`TypeDraw.pick(rng, allowed, preferred)` picks uniformly among `allowed` with probability `explore`
(1/2 by default); otherwise it samples the pass rate p of every allowed type - of every allowed
type in `preferred` when one is (a router's chosen family) - from its posterior, scores it, and
picks a type with probability proportional to its score. The score is p(1 - p) with
`favour="learn"` (the default: types the model meets sometimes, which are the ones fine-tuning can
improve; types it always or never meets get little), p with `favour="pass"` (more answers that
verify), 1 - p with `favour="fail"`, or 1 with `favour="even"` (uniform: `EVEN` is that draw). Picking in proportion rather than taking the best sample
keeps the mix broad: once the posteriors separate, the best sample falls on the same one or two
types almost every time, and half of all constraints would be of those types. Every allowed
type keeps at least `explore / len(allowed)` of the picks, half its uniform share by default,
whatever was observed and whatever is preferred. `type_mix` summarises which types a set of records drew, for
reports (`entropy_bits` is its entropy of any counts, such as a router's operations). This
module neither samples kwargs nor verifies answers.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

from ..common.errors import InputError

SCORES = {"learn": lambda p: p * (1 - p), "pass": lambda p: p, "fail": lambda p: 1 - p,  # favour -> score of a sampled pass rate
          "even": lambda p: 1.0}
FAVOURS = tuple(SCORES)


class TypeDraw:
    """Thread-safe per-type posterior Beta(1 + passes, 1 + fails) and the draw that uses it."""

    def __init__(self, explore: float = 0.5, favour: str = "learn"):
        if not 0 < explore <= 1:
            raise ValueError(f"explore must be in (0, 1], not {explore}")
        if favour not in FAVOURS:
            raise ValueError(f"favour must be one of {FAVOURS}, not {favour!r}")
        self.explore = explore  # probability of a uniform pick among the allowed types (the floor)
        self.favour = favour  # "learn": prefer pass rates near 1/2; "pass": high ones; "fail": low ones
        self._counts: dict[str, list[int]] = {}  # type id -> [passes, fails]
        self._lock = threading.Lock()

    def pick(self, rng: random.Random, allowed: list[str], preferred=None) -> str:
        """One of `allowed`: uniform with probability `explore` (the floor, blind to `preferred`), else
        drawn in proportion to the scores of posterior samples of the pass rates of the allowed types
        in `preferred` (of all allowed types when `preferred` is None or names none of them)."""
        if not allowed:
            raise ValueError("no type is allowed")
        allowed = sorted(allowed)
        if rng.random() < self.explore:
            return rng.choice(allowed)
        pool = [t for t in allowed if t in preferred] if preferred is not None else allowed
        pool = pool or allowed
        score = SCORES[self.favour]
        with self._lock:
            counts = {t: tuple(self._counts.get(t, (0, 0))) for t in pool}
        scores = [score(rng.betavariate(1 + counts[t][0], 1 + counts[t][1])) for t in pool]
        if sum(scores) <= 0:  # every sample at the score's zero (a float edge): no preference
            return rng.choice(pool)
        return rng.choices(pool, weights=scores)[0]

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
            draw = cls(explore=state.get("explore", 0.5), favour=state.get("favour", "learn"))
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


EVEN = TypeDraw(favour="even")  # uniform picks with the floor, for a preference without learned pass rates (never updated)


def type_mix(constraint_lists: list[list[dict]]) -> dict:
    """{"counts": {type_id: n}, "entropy_bits": H} over every constraint in `constraint_lists`.

    H is the Shannon entropy (base 2) of the drawn types' frequencies: log2(24) ≈ 4.585 when all 24
    types are drawn equally often, 0 when one type is all there is (or nothing was drawn).
    """
    counts = Counter(c["id"] for constraints in constraint_lists for c in constraints)
    return {"counts": dict(sorted(counts.items())), "entropy_bits": entropy_bits(counts)}


def entropy_bits(counts: dict) -> float:
    """Shannon entropy (base 2) of the frequencies `counts` ({name: n}); 0 when they are empty."""
    total = sum(counts.values())
    entropy = -sum(n / total * math.log2(n / total) for n in counts.values() if n) if total else 0.0
    return round(abs(entropy), 6)
