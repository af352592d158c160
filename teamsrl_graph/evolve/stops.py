"""Where STOP fired and what the paths it ended yielded: a pure table over finished evolutions.

Each evolution is given as (decisions, verified): the router's decisions in order (operation
names, or "add_constraints:FAMILY", ending in STOP when the router stopped it; an evolution ended by
the depth limit or the budget has no STOP) and whether its final instruction got a verified answer.
`stop_table` gives, per step index, how many evolutions reached a decision there, how many STOP
ended there, and the verified yield of those. Policy training logs it (`policy/train.py`) and a
run's report carries it (`running/report.py`). It reads no records and calls nothing.
"""

from __future__ import annotations

from .actions import STOP


def stop_table(evolutions: list[tuple[list[str], bool]], max_steps: int) -> list[dict]:
    """Per step t < max_steps: {"step": t, "reached": evolutions with a decision at t, "stops": those
    whose decision there was STOP, "stop_share": stops / reached (None when none reached),
    "verified_yield": the share of the stopped ones whose final instruction was verified (None when
    none stopped)}."""
    rows = []
    for t in range(max_steps):
        reached = [(d, ok) for d, ok in evolutions if len(d) > t]
        stopped = [ok for d, ok in reached if d[t] == STOP]
        rows.append({"step": t, "reached": len(reached), "stops": len(stopped),
                     "stop_share": round(len(stopped) / len(reached), 4) if reached else None,
                     "verified_yield": round(sum(map(bool, stopped)) / len(stopped), 4) if stopped else None})
    return rows
