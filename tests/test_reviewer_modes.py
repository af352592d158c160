"""Reviewer modes: whether log-probabilities come back is learnt from the first reviewer reply and
reported (`reviewer_mode` in report.json); without them the verdict is a forced one-word Yes/No.
Against the fake OpenAI-compatible server on loopback, honouring or ignoring `logprobs`."""

import json
import logging

from conftest import default_expert

from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate
from teamsrl_graph.evolve.steps import ONE_WORD
from teamsrl_graph.testing.fake_openai import FakeOpenAI, Reply

SEEDS = ["Explain how tides work.", "Describe a volcano."]
# the in-depth reviewer question and the breadth one (the fixed router begins with breadth)
QUESTIONS = ("harder to answer than the old one", "a different task on the same topic")


def is_review(text: str) -> bool:
    return any(q in text for q in QUESTIONS)


def last_user(body: dict) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


def reviewer_requests(server) -> list[dict]:
    return [s.body for s in server.requests if s.body and is_review(last_user(s.body))]


def cap(body: dict) -> int:
    return body.get("max_completion_tokens", body.get("max_tokens"))


def run(server, tmp_path) -> tuple[list[dict], dict, Context]:
    ctx = Context(model="openai:fake-model", base_url=server.base_url, max_steps=1, answer_samples=1, budget=20)
    records = generate(SEEDS, out=tmp_path, context=ctx, progress=False, concurrency=1)
    return records, json.loads((tmp_path / "report.json").read_text()), ctx


def test_a_server_that_returns_logprobs_is_read_by_probability(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    def reply(body):  # the sampled word says No, the probabilities say Yes: the probabilities decide
        return Reply("No", top=[("Yes", -0.2), ("No", -1.8)]) if is_review(last_user(body)) else default_expert(last_user(body))

    with caplog.at_level(logging.INFO, "teamsrl.steps"), FakeOpenAI(reply=reply) as server:
        records, report, ctx = run(server, tmp_path)
    assert report["reviewer_mode"] == resources(ctx).reviewer_mode == "logprobs"
    assert all(r["path"][0]["accepted"] for r in records)
    assert all(b["logprobs"] and cap(b) == 1 for b in reviewer_requests(server))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_server_that_ignores_logprobs_falls_back_to_a_one_word_reply_with_a_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    asked = []

    def reply(body):
        text = last_user(body)
        if not is_review(text):
            return default_expert(text)
        asked.append(bool(body.pop("logprobs", False)))  # ignored, as some servers do
        # the one-word instruction replaces the "Begin your reply with" hint a single token could not get past
        return "Yes." if text.rstrip().endswith(ONE_WORD) and "Begin your reply" not in text else "Answer: yes"

    with caplog.at_level(logging.INFO, "teamsrl.steps"), FakeOpenAI(reply=reply) as server:
        records, report, ctx = run(server, tmp_path)
    assert report["reviewer_mode"] == "text"
    assert all(r["path"][0]["accepted"] and r["path"][0]["reason"] == "gained" for r in records)  # readable
    assert asked == [True, False]  # asked once; once known to be ignored, not asked again
    assert all(cap(b) == 1 for b in reviewer_requests(server))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no log-probabilities" in warnings[0]


def test_a_model_without_logprobs_is_text_mode_without_a_warning(make_context, tmp_path, caplog):
    ctx = make_context(max_steps=1, answer_samples=1)
    with caplog.at_level(logging.INFO, "teamsrl.steps"):
        generate(SEEDS[:1], out=tmp_path, context=ctx, progress=False)
    assert json.loads((tmp_path / "report.json").read_text())["reviewer_mode"] == "text"
    assert ONE_WORD in resources(ctx).models.reviewer.calls[0]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_no_reviewer_call_no_mode(make_context, tmp_path):
    generate(SEEDS[:1], out=tmp_path, context=make_context(max_steps=0), progress=False)
    assert json.loads((tmp_path / "report.json").read_text())["reviewer_mode"] is None
