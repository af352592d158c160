"""One LLM call as the run makes it: booked in the ledger as it is sent, retried when the failure is
transient, and turned into a `StepFailed` when it still fails.

- Booking: a callback books every attempt in the ledger the moment the model starts it, so the
  ledger counts exactly the requests a provider sees (the SDK's own retries are off, on a chat
  model the caller passed too: `factory.without_own_retries`), including one still in flight when
  the process dies. The first attempt uses the caller's reservation; each
  retry must reserve one more call, and when the cap forbids it the call fails instead of retrying.
- Retrying: LangChain's `with_retry` (exponential back-off with jitter) on errors that
  `is_transient` accepts (rate limits, server errors, time-outs, broken connections, malformed
  replies); a `Retry-After` the server sent is waited out before the next attempt.
- Progress: each booked attempt is also a `{"event": "call", ...}` on LangGraph's `custom` stream
  (role, node, attempt, queries booked so far, the cap).
- Failing: whatever still fails reaches the caller as `StepFailed` (node, error type, message), which
  the graph's nodes record on the instruction's record instead of stopping the run; a lasting refusal
  (401/403: the key; 404: no such model) stops the run instead, as the one-line error `user_error` gives.
This module does not render prompts or parse replies; `steps.py` does.
"""

from __future__ import annotations

import threading
import time

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.config import ensure_config
from langchain_core.runnables.retry import RunnableRetry
from langgraph.config import get_stream_writer
from tenacity import retry_if_exception

from .budget import Budget
from ..models.factory import is_transient, redact, retry_after, user_error


class StepFailed(Exception):
    """An LLM call that failed for good: what the record's `errors` entry says."""

    def __init__(self, node: str, error: BaseException, attempts: int):
        self.node, self.type, self.message = node, type(error).__name__, redact(str(error))[:500]
        self.attempts = attempts  # calls booked before giving up (a request of k samples books k)
        super().__init__(f"{node}: {self.type}: {self.message}")

    def as_dict(self) -> dict:
        return {"node": self.node, "type": self.type, "message": self.message}


class BudgetSpent(Exception):
    """A retry the query cap cannot fund."""


class _Booking(BaseCallbackHandler):
    """Books each attempt of one call as it starts; waits out a Retry-After after a failed one."""

    raise_error = True  # a retry the cap cannot fund must stop the call, not be logged and ignored

    def __init__(self, budget: Budget, role: str, node: str, on_booked=None, max_wait: float = 60.0, samples: int = 1):
        self.budget, self.role, self.node, self.on_booked, self.max_wait = budget, role, node, on_booked, max_wait
        self.samples = samples  # calls one attempt books (a request for k answers at once books k)
        self.attempts = 0
        self.lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, **kwargs):
        with self.lock:
            if self.attempts and not self.budget.reserve(self.samples):
                raise BudgetSpent(f"the query cap cannot fund retry {self.attempts}")
            self.budget.start(self.role, self.node, self.samples)
            self.attempts += 1  # calls sent
        if self.on_booked:
            self.on_booked()
        emit({"event": "call", "role": self.role, "node": self.node, "attempt": self.attempts,
              "queries": self.budget.queries, "budget": self.budget.max_queries})

    def on_llm_error(self, error, **kwargs):
        self.budget.mark_failed()
        wait = retry_after(error)
        if wait and is_transient(error):
            time.sleep(min(wait, self.max_wait))


def with_handler(handler) -> list | BaseCallbackManager:
    """The callbacks of the run this call is part of (a graph node's: streaming, tracing) plus `handler`;
    a config's callbacks replace the inherited ones instead of joining them."""
    inherited = ensure_config().get("callbacks")
    if isinstance(inherited, BaseCallbackManager):
        manager = inherited.copy()
        manager.add_handler(handler, inherit=True)
        return manager
    return [*(inherited or []), handler]


def emit(event: dict):
    """Send `event` to LangGraph's `custom` stream when running inside a graph; nothing outside one."""
    try:
        writer = get_stream_writer()
    except (RuntimeError, KeyError):  # not inside a graph run (the policy's environment, benchmarks): a
        return  # LangChain runnable's config alone, or none at all
    writer(event)


class _TransientRetry(RunnableRetry):
    """`RunnableRetry` that asks `is_transient` instead of matching exception types."""

    @property
    def _kwargs_retrying(self) -> dict:
        kwargs = dict(super()._kwargs_retrying)
        kwargs["retry"] = retry_if_exception(is_transient)
        return kwargs


def call(model, messages, *, budget: Budget, role: str, node: str, attempts: int = 3, on_booked=None,
         backoff: float = 0.5, **kwargs):
    """Invoke `model` on `messages` (a reservation held), booking and retrying as above; the reply, or
    `StepFailed`."""
    return _invoke(model.bind(**kwargs), messages, _Booking(budget, role, node, on_booked), attempts, backoff)


def sample(model, messages, n: int, *, budget: Budget, role: str, node: str, attempts: int = 3, on_booked=None,
           backoff: float = 0.5, **kwargs) -> list:
    """`n` replies to the same `messages` (n calls reserved), booked and retried like `call`.

    A model that takes `n` (the in-process model, whose rows then share one prefill; OpenAI-compatible
    servers) gets one request for all of them, booked as `n` calls; any other model gets `n` requests
    of one, one after the other. Returns the replies (AIMessages), or raises `StepFailed`; each request
    of several samples carries the usage of the whole request on every reply, as OpenAI reports it."""
    if n == 1 or not takes_n(model):
        replies = []
        for i in range(n):
            try:
                replies.append(call(model, messages, budget=budget, role=role, node=node, attempts=attempts,
                                    on_booked=on_booked, backoff=backoff, **kwargs))
            except StepFailed as failure:
                budget.release(n - 1 - i)  # the samples not asked for
                failure.attempts += i  # the calls of the samples before it count too
                raise
        return replies

    def generate(messages, config):
        result = model.generate([messages], callbacks=config.get("callbacks"), n=n, **kwargs)
        return [g.message for g in result.generations[0]]

    return _invoke(RunnableLambda(generate), messages, _Booking(budget, role, node, on_booked, samples=n),
                   attempts, backoff)


def takes_n(model) -> bool:
    """Whether `model` answers one request with several samples (a field `n`, as ChatOpenAI and the
    in-process model have)."""
    return "n" in getattr(type(model), "model_fields", {})


def _invoke(runnable, messages, booking: _Booking, attempts: int, backoff: float):
    retrying = _TransientRetry(bound=runnable, max_attempt_number=max(1, attempts), wait_exponential_jitter=True,
                               exponential_jitter_params={"initial": backoff, "max": 30.0})
    budget, node = booking.budget, booking.node
    try:
        return retrying.invoke(messages, config={"callbacks": with_handler(booking)})
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - every failure of a call is the record's, not the run's ...
        if booking.attempts == 0:  # nothing was sent: the reservation is still held; give it back
            budget.release(booking.samples)
        lasting = user_error(error)  # ... except a refused key or an unknown model, which every call would meet
        if lasting is not None:
            raise lasting from None
        raise StepFailed(node, error, booking.attempts * booking.samples) from error
