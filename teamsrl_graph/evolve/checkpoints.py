"""Reservations that live in the graph state, so a checkpointed thread resumes anywhere.

Every node of the evolution graph runs inside `charged`: the calls, tokens and reservations it books
in the run's ledger are mirrored into the instruction's own books (`budget.charging`), and the node's
update carries them as `books` (what this instruction spent) and `held` (calls promised to it and not
yet made). A checkpointer saves both with the rest of the state, so:

- resumed in a fresh process (a new Context, a new ledger), the first node that runs on the thread
  hands its books and promised calls to the new ledger (`Budget.adopt`), under the new caps: the
  calls already made are counted once, the promised ones are held again, and the node goes on;
- replayed from an earlier checkpoint, or re-run after an `interrupt()` in the same process, the
  thread's promise is set back to what that checkpoint says (reserving or giving back the
  difference), so no call is made without a reservation and none is promised twice.

Without a thread id (no checkpointer) each node's books are made from the state alone. A node cut
off by a crash left no checkpoint: the calls it had sent are in no state, and it runs again from its
start. This module decides nothing about routing or reviewing; see nodes.py.
"""

from __future__ import annotations

from dataclasses import replace

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from ..running.budget import Budget, charging
from .context import Context
from ..common.errors import InputError
from .resources import resources


def thread_key(config: RunnableConfig | None) -> str | None:
    """The checkpointer's thread a node runs in, with the namespace of the graph that holds the node
    (a subgraph's; the node's own task is left out); None without a thread."""
    configurable = (config or {}).get("configurable") or {}
    thread = configurable.get("thread_id")
    graph_ns = configurable.get("checkpoint_ns", "").rpartition("|")[0]  # "" for the top-level graph
    return None if thread is None else f"{thread}|{graph_ns}"


def account_for(ledger: Budget, state: dict, config: RunnableConfig | None) -> Budget:
    """The books this node charges: the thread's account in `ledger` (adopted from the state when the
    ledger has not met the thread), its promise settled to the state's `held`."""
    books, held = state.get("books"), state.get("held", 0)
    key = thread_key(config)
    if key is None:
        account = Budget.from_state(books) if books else Budget()
        account.reserved = held
        return account
    account = ledger.adopt(key, books, held)
    with charging(account):
        if account.reserved < held and not ledger.reserve(held - account.reserved):
            raise InputError(f"the budget cannot fund the {held} calls this step was promised", field="budget")
        if account.reserved > held:
            ledger.release(account.reserved - held)
    return account


def check_seed(state: dict):
    """An InputError unless the state holds a usable seed instruction (a string with some text)."""
    seed = state.get("seed") if isinstance(state, dict) else None
    if not isinstance(seed, str) or not seed.strip():
        what = ("no 'seed'" if seed is None else "an empty 'seed'" if isinstance(seed, str)
                else f"a 'seed' of type {type(seed).__name__}")
        raise InputError(f"the input has {what}: give the seed instruction as text, e.g. {{'seed': 'Write a haiku.'}}",
                         field="seed")


def charged(node):
    """`node` run against its instruction's books; its update carries them (`books`, `held`)."""

    def run(state: dict, runtime: Runtime[Context], config: RunnableConfig):
        Context.of(runtime.context)
        check_seed(state)
        account = account_for(resources(runtime.context).budget, state, config)
        before = account.queries
        with charging(account):
            result = node(state, runtime)
        # `queries` is what the node booked, retries included: the record counts what the provider saw
        books = {"books": account.state(), "held": account.reserved, "queries": account.queries - before}
        if isinstance(result, Command):
            return replace(result, update={**(result.update or {}), **books})
        return {**result, **books}

    run.__name__, run.__doc__ = node.__name__, node.__doc__  # not functools.wraps: LangGraph reads the signature
    return run
