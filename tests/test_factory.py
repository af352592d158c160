"""Provider models from `make_chat_model`, driven through the real langchain-openai client against
the fake OpenAI-compatible server on loopback: timeouts, no hidden retries, failure classes, secrets."""

import json
import logging
import time

import pytest

from teamsrl_graph.common.errors import InputError, SetupError
from teamsrl_graph.models.factory import (
    is_transient,
    make_chat_model,
    make_rate_limiter,
    retry_after,
    split_base_url,
    supports_logprobs,
)
from teamsrl_graph.testing.fake_openai import FakeOpenAI, Reply

SPEC = "openai:gpt-4o-mini"


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


def failure(fault, **settings):
    """The exception one call raises when the server answers with `fault`, and the server."""
    with FakeOpenAI(script=[fault], **settings) as server:
        model = make_chat_model(SPEC, base_url=server.base_url, timeout=1.0)
        with pytest.raises(Exception) as error:
            model.invoke("Explain tides.")
    return error.value, server


def test_a_call_goes_through_with_usage_and_logprobs():
    with FakeOpenAI(reply=lambda body: Reply("Yes", top=[("Yes", -0.1), ("No", -2.4)])) as server:
        model = make_chat_model(SPEC, base_url=server.base_url, timeout=1.0, max_tokens=4)
        reply = model.invoke("Is the second one harder?", logprobs=True, top_logprobs=2)
    assert reply.text == "Yes" and reply.usage_metadata["output_tokens"] == 1
    top = reply.response_metadata["logprobs"]["content"][0]["top_logprobs"]
    assert [t["token"] for t in top] == ["Yes", "No"] and supports_logprobs(model)
    assert server.requests[0].body.get("max_completion_tokens", server.requests[0].body.get("max_tokens")) == 4 and server.total == 1


@pytest.mark.parametrize("fault", ["500", "503", "429", "reset", "close", "malformed"])
def test_one_failure_is_one_request_and_reaches_the_caller(fault):
    error, server = failure(fault)
    assert server.total == 1, "the SDK retried on its own"
    assert is_transient(error)


def test_a_hung_server_times_out_within_the_timeout():
    started = time.monotonic()
    error, server = failure("hang", hang_seconds=20)
    assert time.monotonic() - started < 3 and server.total == 1
    assert "timed out" in str(error).lower() and is_transient(error)


def test_429_carries_its_retry_after():
    error, _ = failure("429", retry_after=2.5)
    assert is_transient(error) and retry_after(error) == 2.5


class Status(Exception):
    def __init__(self, status, headers=None):
        self.status_code = status
        self.response = type("R", (), {"status_code": status, "headers": headers or {}})()


@pytest.mark.parametrize(
    "error, transient",
    [
        (Status(400), False), (Status(401), False), (Status(403), False), (Status(404), False), (Status(422), False),
        (Status(408), True), (Status(429), True), (Status(500), True), (Status(502), True), (Status(504), True),
        (TimeoutError(), True), (ConnectionResetError(), True), (json.JSONDecodeError("x", "{", 1), True),
        (ValueError("a bad setting"), False), (KeyError("x"), False), (ImportError("torch"), False),
    ],
)
def test_transient_failures(error, transient):
    assert is_transient(error) is transient


@pytest.mark.parametrize(
    "headers, seconds",
    [({"retry-after": "3"}, 3.0), ({"retry-after-ms": "250", "retry-after": "9"}, 0.25), ({"retry-after": "-4"}, 0.0),
     ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"retry-after": "soon"}, None), ({}, None)],
)
def test_retry_after_headers(headers, seconds):
    assert retry_after(Status(429, headers)) == seconds
    assert retry_after(ValueError()) is None


@pytest.mark.parametrize("fault, kind", [("400", None), ("401", SetupError), ("404", InputError)])
def test_client_errors_are_not_transient(fault, kind):
    from teamsrl_graph.models.factory import user_error

    error, server = failure(fault)
    assert server.total == 1 and not is_transient(error) and str(fault) in str(error)
    explained = user_error(error, SPEC)
    assert (type(explained) if explained else None) is kind
    assert explained is None or (f"HTTP {fault}" in str(explained) and "\n" not in str(explained))


def test_http_loggers_are_quietened_unless_set_on_purpose():
    from teamsrl_graph.models import factory

    for name in factory.HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger("openai").setLevel(logging.DEBUG)
    try:
        factory.protect_secrets()
        assert logging.getLogger("httpx2").level == logging.getLogger("httpcore").level == logging.WARNING
        assert logging.getLogger("openai").level == logging.DEBUG
    finally:
        logging.getLogger("openai").setLevel(logging.WARNING)


def test_secrets_never_reach_logs_and_the_key_goes_as_bearer(caplog, capsys, monkeypatch):
    password, key = "pw-Zq81-never-print", "sk-planted-key-77"
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "langchain_openai"):
        caplog.set_level(logging.DEBUG, logger=name)
    with FakeOpenAI(script=["ok", "500", "ok"]) as server:
        url = server.base_url.replace("://", f"://alice:{password}@")
        model = make_chat_model(SPEC, base_url=url, timeout=1.0)
        model.invoke("hello")
        with pytest.raises(Exception):
            model.invoke("hello")
        monkeypatch.setenv("OPENAI_API_KEY", key)
        keyed = make_chat_model(SPEC, base_url=url, timeout=1.0)
        keyed.invoke("hello")
        logging.getLogger("elsewhere").warning("leaked %s and %s", password, key)
        try:
            raise RuntimeError(f"boom {key}")
        except RuntimeError:
            logging.getLogger("elsewhere").exception("failed")
    logged = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    out = capsys.readouterr()
    http = [r for r in caplog.records if r.name.split(".")[0] in ("httpx2", "httpx", "openai", "httpcore2", "httpcore")]
    assert any(server.base_url in r.getMessage() for r in http), "no request was logged: the test proves nothing"
    for secret in (password, key):
        assert secret not in logged + out.out + out.err
    assert "leaked <redacted> and <redacted>" in logged and "boom <redacted>" in logged
    auth = [h["authorization"] for h in server.headers]
    assert auth == [f"Bearer {password}", f"Bearer {password}", f"Bearer {key}"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://host/v1", "must start with http:// or https://"),
        ("localhost:8000/v1", "must start with http:// or https://"),
        ("http:///v1", "has no host"),
        ("http://host:99999/v1", "not a valid URL"),
        ("http://host:abc/v1", "not a valid URL"),
        ("http://bob:s3cret-pw@host:0/v1", "has port 0"),
        ("ftp://bob:s3cret-pw@host/v1", "must start with"),
    ],
)
def test_bad_base_urls_name_the_field(url, message):
    with pytest.raises(InputError) as error:
        make_chat_model(SPEC, base_url=url)
    assert error.value.field == "base_url" and message in str(error.value) and "s3cret" not in str(error.value)


def test_user_info_is_stripped_from_the_url():
    assert split_base_url("http://bob:p%40ss@Example.org:8080/v1") == ("http://example.org:8080/v1", "p@ss")
    assert split_base_url("https://token123@host/v1") == ("https://host/v1", "token123")
    assert split_base_url("http://[::1]:8000/v1") == ("http://[::1]:8000/v1", None)


def test_a_provider_model_without_a_key_is_a_one_line_setup_error():
    with pytest.raises(SetupError) as error:
        make_chat_model(SPEC)
    assert "OPENAI_API_KEY" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("spec, settings, field", [
    (SPEC, {"timeout": 0}, "timeout"),
    (SPEC, {"max_retries": -1}, "max_retries"),
    (SPEC, {"timeout": float("inf")}, "timeout"),
    (SPEC, {"max_retries": 1.5}, "max_retries"),
    (SPEC, {"temperature": -0.1}, "temperature"),
    (SPEC, {"max_tokens": 0}, "max_tokens"),
    ("local", {"max_batch": 0}, "max_batch"),
    ("local", {"temperature": float("nan")}, "temperature"),
    (None, {}, "model"),
    (5, {}, "model"),
])
def test_bad_client_settings(spec, settings, field):
    with pytest.raises(InputError) as error:
        make_chat_model(spec, base_url="http://127.0.0.1:9/v1", **settings)
    assert error.value.field == field


@pytest.mark.parametrize("rate", [0, -1.0, float("nan"), "2"])
def test_a_rate_that_is_not_a_number_above_0_is_refused(rate):
    with pytest.raises(InputError, match="a number above 0") as error:
        make_rate_limiter(rate)
    assert error.value.field == "requests_per_second"


def test_the_rate_limiter_spaces_calls_out():
    limiter = make_rate_limiter(20)
    with FakeOpenAI() as server:
        model = make_chat_model(SPEC, base_url=server.base_url, timeout=1.0, rate_limiter=limiter)
        started = time.monotonic()
        for _ in range(6):
            model.invoke("hi")
        elapsed = time.monotonic() - started
    assert model.rate_limiter is limiter and server.total == 6 and elapsed >= 0.2


def test_retries_book_every_request_and_honour_retry_after():
    from langchain_core.messages import HumanMessage

    from teamsrl_graph.running.budget import Budget
    from teamsrl_graph.running.calls import call

    ledger = Budget(max_queries=10)
    with FakeOpenAI(script=["500", "429", "reset", "ok"], retry_after=0.6) as server:
        model = make_chat_model(SPEC, base_url=server.base_url, timeout=1.0)
        assert ledger.reserve(1)
        started = time.monotonic()
        reply = call(model, [HumanMessage("hi")], budget=ledger, role="expert", node="deepen", attempts=4, backoff=0.01)
        elapsed = time.monotonic() - started
    assert reply.text.startswith("Answer to") and elapsed >= 0.6  # the 429's Retry-After was waited out
    assert server.total == ledger.queries == 4 and ledger.failed == 3 and ledger.reserved == 0


@pytest.mark.parametrize(
    "script, cap, attempts, requests, kind",
    [(["500", "500", "500", "ok"], 2, 5, 2, "BudgetSpent"),  # the budget stops the retries
     (["503", "503", "503", "ok"], 10, 3, 3, "OpenAIAPIError"),  # so does the attempt limit
     (["400", "ok"], 10, 5, 1, "OpenAIInvalidRequestError")],  # a client error is not retried
)
def test_retries_stop_at_the_budget_the_limit_or_a_lasting_error(script, cap, attempts, requests, kind):
    from langchain_core.messages import HumanMessage

    from teamsrl_graph.running.budget import Budget
    from teamsrl_graph.running.calls import StepFailed, call

    ledger = Budget(max_queries=cap)
    with FakeOpenAI(script=script) as server:
        model = make_chat_model(SPEC, base_url=server.base_url, timeout=1.0)
        assert ledger.reserve(1)
        with pytest.raises(StepFailed) as failed:
            call(model, [HumanMessage("hi")], budget=ledger, role="expert", node="deepen", attempts=attempts, backoff=0.01)
    assert server.total == ledger.queries == ledger.failed == requests == failed.value.attempts and ledger.reserved == 0
    assert failed.value.type == kind
