"""The run-wide query ledger of a Ray run: the run's one `Budget`, held by a Ray actor.

`LedgerKeeper` is the actor: it holds the Budget and applies every reservation and booking that
the workers send it, one at a time, so the caps hold across workers exactly as they hold across
the threads of one process (reservations before calls, bookings as calls are sent). After each
booked call it saves `ledger.json` into the run folder, like a run in one process does; the driver
places it on its own node, where that folder is. `RemoteBudget` stands in for the Budget in a
worker's resources: the Budget's methods and counts, each one a request to the actor. This module
adds no ledger rules of its own: whatever Budget does is what a Ray run gets.
"""

from __future__ import annotations

from functools import partial

from ..running.budget import _ACCOUNT, Budget
from ..running.run import _can_fund_a_seed
from ..running.rundir import RunDir

METHODS = ("reserve", "release", "start", "add_tokens", "mark_failed", "record", "summary", "state")
COUNTS = (*(name for name in Budget.__dataclass_fields__ if not name.startswith("_")), "used_tokens", "remaining_fraction")
BOOKINGS = ("start", "record")  # the methods that book a call: the ledger file is saved after each
MIRRORED = ("reserve", "release", "start", "add_tokens", "mark_failed", "record")  # also booked in the instruction's own books


class LedgerKeeper:
    """The body of the ledger actor (wrapped with `ray.remote` by the driver)."""

    def __init__(self):
        self.budget, self.folder = Budget(), None

    def open(self, state: dict, out: str | None = None):
        """Take over the run's ledger (`Budget.state()`: fresh, or saved by an earlier attempt) and,
        with `out`, save it into that run folder as calls are booked."""
        self.budget = Budget.from_state(state)
        self.folder = RunDir(out) if out is not None else None

    def call(self, method: str, *args):
        result = getattr(self.budget, method)(*args)
        if self.folder and method in BOOKINGS:
            self.folder.save_ledger(self.budget)
        return result

    def read(self, name: str):
        return getattr(self.budget, name)

    def can_fund_a_seed(self) -> bool:
        """Whether one more seed could at least be answered under the caps (nothing is reserved)."""
        return _can_fund_a_seed(self.budget)


class RemoteBudget:
    """A Budget's methods (`METHODS`) and counts (`COUNTS`: `queries`, `max_queries`,
    `remaining_fraction`, ...) over a `LedgerKeeper` actor; each use waits for the actor's answer.
    What it books is mirrored into the account of the graph node charging it (`budget.charging`),
    here in the worker, as a Budget does."""

    def __init__(self, keeper):
        self.keeper = keeper

    def _ask(self, what: str, name: str, *args):
        import ray

        return ray.get(getattr(self.keeper, what).remote(name, *args))

    def _call(self, name: str, *args):
        result = self._ask("call", name, *args)
        account = _ACCOUNT.get()
        if account is not None and name in MIRRORED and (name != "reserve" or result):
            getattr(account, name)(*args)
        return result

    def __getattr__(self, name: str):
        if name in METHODS:
            return partial(self._call, name)
        if name in COUNTS:
            return self._ask("read", name)
        raise AttributeError(name)
