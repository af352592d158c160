"""The fake OpenAI-compatible server itself, spoken to with plain HTTP (urllib) on loopback."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from teamsrl_graph.testing.fake_openai import FAULTS, FakeOpenAI, Reply


def post(server, body, timeout=2.0, headers=None):
    request = urllib.request.Request(f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return reply.status, dict(reply.headers), reply.read()


CHAT = {"model": "m", "messages": [{"role": "user", "content": "Explain tides in one line"}]}


def test_answers_with_the_reply_function_and_counts_usage():
    with FakeOpenAI(reply=lambda body: "Tides follow the moon.") as server:
        status, _, raw = post(server, CHAT, headers={"Authorization": "Bearer sk-x"})
        models = json.loads(urllib.request.urlopen(f"{server.base_url}/models", timeout=2).read())
    reply = json.loads(raw)
    assert status == 200 and reply["choices"][0]["message"]["content"] == "Tides follow the moon."
    assert reply["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    assert models["data"][0]["id"] == "fake-model"
    assert server.stats() == {"total": 2, "by_outcome": {"ok": 2}}
    assert server.headers[0]["authorization"] == "Bearer sk-x" and server.requests[0].body == CHAT


def test_max_tokens_cuts_the_reply_and_logprobs_come_when_asked():
    reply = Reply("Yes it gained", top=[("Yes", -0.2), ("No", -1.7), ("Maybe", -3.0)])
    with FakeOpenAI(reply=lambda body: reply) as server:
        body = {**CHAT, "max_tokens": 2, "logprobs": True, "top_logprobs": 2}
        out = json.loads(post(server, body)[2])
    choice = out["choices"][0]
    assert choice["message"]["content"] == "Yes it" and choice["finish_reason"] == "length"
    first = choice["logprobs"]["content"][0]
    assert first["token"] == "Yes" and first["logprob"] == -0.2
    assert [(e["token"], e["logprob"]) for e in first["top_logprobs"]] == [("Yes", -0.2), ("No", -1.7)]


def test_scripted_faults_in_order():
    with FakeOpenAI(script=["429", "500", "503", "malformed", "ok"], retry_after=7) as server:
        with pytest.raises(urllib.error.HTTPError) as error:
            post(server, CHAT)
        assert error.value.code == 429 and error.value.headers["Retry-After"] == "7"
        for code in (500, 503):
            with pytest.raises(urllib.error.HTTPError, match=str(code)):
                post(server, CHAT)
        _, _, raw = post(server, CHAT)
        with pytest.raises(ValueError):
            json.loads(raw)
        assert post(server, CHAT)[0] == 200
    assert server.counts == {"429": 1, "500": 1, "503": 1, "malformed": 1, "ok": 1} and server.total == 5


@pytest.mark.parametrize("fault", ["reset", "close"])
def test_connection_faults_end_without_a_reply(fault):
    with FakeOpenAI(script=[fault]) as server:
        with pytest.raises((ConnectionError, urllib.error.URLError, OSError)) as error:
            post(server, CHAT)
    assert not isinstance(error.value, urllib.error.HTTPError) and server.counts == {fault: 1}


def test_a_hang_outlasts_the_client_and_stop_wakes_it():
    started = time.monotonic()
    with FakeOpenAI(script=["hang"], hang_seconds=30) as server:
        with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
            post(server, CHAT, timeout=0.5)
    assert time.monotonic() - started < 5 and server.counts == {"hang": 1}


def test_fault_rates_are_deterministic_given_the_seed():
    def outcomes(seed):
        with FakeOpenAI(faults={"500": 0.3, "429": 0.2}, seed=seed) as server:
            for _ in range(40):
                try:
                    post(server, CHAT)
                except urllib.error.HTTPError:
                    pass
        return [seen.outcome for seen in server.requests]

    first = outcomes(3)
    assert first == outcomes(3) and first != outcomes(4)
    assert {"ok", "500", "429"} == set(first)


def test_bad_requests_and_unknown_routes_are_counted():
    with FakeOpenAI() as server:
        with pytest.raises(urllib.error.HTTPError, match="400"):
            post(server, {"model": "m"})
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{server.base_url}/nothing", timeout=2)
    assert server.counts == {"bad_request": 1, "not_found": 1}


def test_unknown_faults_are_refused():
    with pytest.raises(ValueError, match="unknown faults"):
        FakeOpenAI(script=["teapot"])
    with pytest.raises(ValueError, match="more than 1"):
        FakeOpenAI(faults={"500": 0.7, "429": 0.6})
    assert "hang" in FAULTS
