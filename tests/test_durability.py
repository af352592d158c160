"""Runs that survive: resume after an interruption, failed calls that cost one step, signals."""

import itertools
import json
import os
import signal
import threading
import time

import pytest
from conftest import default_expert

from teamsrl_graph.common.errors import InputError, Interrupted
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate

SEEDS = [f"Explain idea number {i} clearly." for i in range(6)]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_resume_skips_done_records_and_the_cap_spans_the_run(make_context, tmp_path):
    first = generate(SEEDS, out=tmp_path, context=make_context(max_steps=1, budget=7), progress=False, concurrency=2)
    assert 1 <= len(first) < len(SEEDS)  # the cap stopped it part way
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["skipped_for_budget"] == len(SEEDS) - len(first)
    again = make_context(max_steps=1, budget=7)  # the same cap: nothing more can be funded
    assert generate(SEEDS, out=tmp_path, context=again, resume=True, progress=False) == first
    assert resources(again).budget.queries == sum(r["queries"] for r in first)
    more = make_context(max_steps=1, budget=100)  # a raised cap: the rest runs, the done ones do not
    records = generate(SEEDS, out=tmp_path, context=more, resume=True, progress=False)
    written = lines(tmp_path / "dataset.jsonl")
    assert sorted(r["seed"] for r in written) == sorted(SEEDS) and len(written) == len(SEEDS) == len(records)
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["queries"] == resources(more).budget.queries == sum(r["queries"] for r in written)
    assert json.loads((tmp_path / "report.json").read_text())["records"] == len(SEEDS)


def test_resume_may_change_the_engine_rows_but_not_what_shapes_records(make_context, tmp_path):
    first = generate(SEEDS[:2], out=tmp_path, context=make_context(max_steps=1, max_batch=8), progress=False)
    again = generate(SEEDS, out=tmp_path, context=make_context(max_steps=1, max_batch=16), resume=True, progress=False)
    assert len(first) == 2 and len(again) == len(SEEDS)
    assert json.loads((tmp_path / "run.json").read_text())["max_batch"] == 16
    with pytest.raises(InputError, match="started with max_steps=1") as caught:
        generate(SEEDS, out=tmp_path, context=make_context(max_steps=2, max_batch=16), resume=True, progress=False)
    assert caught.value.field == "max_steps"


def test_resume_refuses_other_settings_and_a_plain_rerun_refuses_the_folder(make_context, tmp_path):
    generate(SEEDS[:2], out=tmp_path, context=make_context(max_steps=1), progress=False)
    with pytest.raises(InputError, match="max_steps=1, not 2") as error:
        generate(SEEDS, out=tmp_path, context=make_context(max_steps=2), resume=True, progress=False)
    assert error.value.field == "max_steps"
    with pytest.raises(InputError, match="--resume .* or --overwrite"):
        generate(SEEDS, out=tmp_path, context=make_context(max_steps=1), progress=False)


def test_overwrite_keeps_the_old_results_until_the_new_report(make_context, tmp_path):
    generate(SEEDS[:2], out=tmp_path, context=make_context(max_steps=0), progress=False)
    old = (tmp_path / "dataset.jsonl").read_text()

    with pytest.raises(InputError):  # bad settings: nothing touched
        generate(SEEDS, out=tmp_path, context=make_context(max_steps=-1), overwrite=True, progress=False)
    assert (tmp_path / "dataset.jsonl").read_text() == old
    generate(SEEDS[2:4], out=tmp_path, context=make_context(max_steps=0), overwrite=True, progress=False)
    assert {r["seed"] for r in lines(tmp_path / "dataset.jsonl")} == set(SEEDS[2:4])
    assert not (tmp_path / ".replaced").exists()


def test_a_record_cut_off_by_a_kill_is_dropped_and_rerun(make_context, tmp_path):
    generate(SEEDS[:3], out=tmp_path, context=make_context(max_steps=0), progress=False)
    data = tmp_path / "dataset.jsonl"
    whole = data.read_text().splitlines(keepends=True)
    data.write_text("".join(whole[:2]) + whole[2][:40])  # the third line was being written
    records = generate(SEEDS[:3], out=tmp_path, context=make_context(max_steps=0), resume=True, progress=False)
    assert sorted(r["seed"] for r in lines(data)) == sorted(SEEDS[:3]) and len(records) == 3


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_seed_that_raises_stops_new_seeds_keeps_the_others_and_resume_finishes(make_context, tmp_path, monkeypatch,
                                                                                   concurrency):
    """A bug in one seed's run (not a failed call, which becomes a failed record) ends the run with
    that error, after the seeds in flight are written; nothing starts after it; resume does the rest."""
    import teamsrl_graph.running.run as run_module

    real = run_module.run_seed

    def buggy(graph, context, index, seed, config=None):
        if index == 2:
            raise RuntimeError("a bug in seed 2")
        return real(graph, context, index, seed, config)

    monkeypatch.setattr(run_module, "run_seed", buggy)
    with pytest.raises(RuntimeError, match="a bug in seed 2"):
        generate(SEEDS, out=tmp_path, context=make_context(max_steps=0), progress=False, concurrency=concurrency)
    kept = {r["seed"] for r in lines(tmp_path / "dataset.jsonl")}
    assert SEEDS[2] not in kept and set(SEEDS[:2]) <= kept
    if concurrency == 1:
        assert kept == set(SEEDS[:2])  # seeds 3-5 never started
    else:
        assert len(kept) <= 4  # at most the two seeds in flight beside seed 2 finished; none started after it
    monkeypatch.setattr(run_module, "run_seed", real)
    records = generate(SEEDS, out=tmp_path, context=make_context(max_steps=0), resume=True, progress=False)
    assert sorted(r["seed"] for r in records) == sorted(SEEDS) == sorted(r["seed"] for r in lines(tmp_path / "dataset.jsonl"))


def test_out_under_a_file_is_refused_before_anything_runs(make_context, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError) as error:
        generate(SEEDS, out=tmp_path / "file" / "run", context=make_context(), progress=False)
    assert error.value.field == "--out"


class Flaky:
    """Fails the first `failures` calls of each prompt with `error`, then answers like `reply`."""

    def __init__(self, reply, failures, error=ConnectionError):
        self.reply, self.failures, self.error, self.seen, self.lock = reply, failures, error, {}, threading.Lock()

    def __call__(self, prompt):
        with self.lock:
            self.seen[prompt] = self.seen.get(prompt, 0) + 1
            n = self.seen[prompt]
        if n <= self.failures:
            raise self.error("server hiccup")
        return self.reply(prompt)


def test_transient_failures_are_retried_and_every_attempt_is_booked(make_context):
    expert = Flaky(default_expert, failures=1)
    ctx = make_context(expert=expert, max_steps=1, max_attempts=3)
    [record] = generate(SEEDS[:1], context=ctx, progress=False)
    ledger = resources(ctx).budget
    assert record["response_ok"] and record["path"][0]["accepted"] and not record.get("errors")
    # rewrite and answer each failed once before succeeding: 2 extra attempts, booked and counted
    assert ledger.by_role["expert"] + ledger.by_role["responder"] == sum(expert.seen.values()) == 4  # one model, two roles
    assert record["queries"] == ledger.queries == 5 and ledger.reserved == 0  # the record counts the retries too


def test_a_call_that_keeps_failing_costs_its_record_not_the_run(make_context, tmp_path):
    responder = Flaky(lambda p: "fine", failures=99)
    ctx = make_context(responder=responder, max_steps=1, max_attempts=2, budget=40)
    records = generate(SEEDS[:3], out=tmp_path, context=ctx, progress=False)
    assert len(records) == 3 and all(r["status"] == "failed" and not r["response_ok"] for r in records)
    assert all(r["errors"] == [{"node": "respond", "type": "ConnectionError", "message": "server hiccup"}] for r in records)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failed"] == 3 and report["errors_by_type"] == {"respond:ConnectionError": 3}
    ledger = resources(ctx).budget
    assert ledger.by_node["respond"] == 3 * 2 and ledger.reserved == 0  # two attempts each, all booked


def test_a_retry_the_cap_cannot_fund_is_not_sent(make_context):
    expert = Flaky(default_expert, failures=99)
    ctx = make_context(expert=expert, max_steps=1, max_attempts=5, budget=3)  # answer + evolution reserve 3
    [record] = generate(SEEDS[:1], context=ctx, progress=False)
    assert resources(ctx).budget.queries <= 3 and sum(expert.seen.values()) <= 3
    assert record["path"][0]["reason"] == "error:BudgetSpent"  # the rewrite failed and its retry was not funded
    assert record["errors"][0]["message"] == "the query cap cannot fund retry 1"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_new_seeds_writes_the_report_and_resume_finishes(make_context, tmp_path, sig):
    calls = itertools.count()

    def slow(prompt):
        if next(calls) == 12:  # a few seeds in, whatever the machine's load: the run and its handlers are up
            os.kill(os.getpid(), sig)
        time.sleep(0.05)
        return default_expert(prompt)

    seeds = [f"Describe place number {i}." for i in range(40)]
    with pytest.raises(Interrupted) as stopped:
        generate(seeds, out=tmp_path, context=make_context(expert=slow, max_steps=1), concurrency=2, progress=False)
    assert stopped.value.exit_code == 128 + sig
    report = json.loads((tmp_path / "report.json").read_text())
    written = lines(tmp_path / "dataset.jsonl")
    assert report["interrupted"] == signal.Signals(sig).name and 0 < len(written) == report["records"] < len(seeds)
    generate(seeds, out=tmp_path, context=make_context(expert=slow, max_steps=1), resume=True, concurrency=8, progress=False)
    assert sorted(r["seed"] for r in lines(tmp_path / "dataset.jsonl")) == sorted(seeds)


def test_secrets_reach_no_output_file_log_or_stream(tmp_path, monkeypatch, capsys, caplog):
    """A whole `teamsrl generate -v` run with a password in --base-url and a key in the environment:
    neither appears in any file the run writes, in any log record, or on stdout/stderr."""
    import logging

    from teamsrl_graph.cli import main
    from teamsrl_graph.testing.fake_openai import FakeOpenAI
    from teamsrl_graph.testing.soak import scripted_reply

    password, key = "pw-Planted-4417", "sk-planted-9930"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    (tmp_path / "seeds.txt").write_text("Explain tides.\nDescribe a volcano.\n")
    with FakeOpenAI(reply=scripted_reply, script=["ok", "500", "ok", "429"], retry_after=0.1) as server:
        url = server.base_url.replace("://", f"://ops:{password}@")
        code = main(["-v", "generate", "--seeds", str(tmp_path / "seeds.txt"), "--out", str(tmp_path / "run"),
                     "--model", "openai:fake-model", "--base-url", url, "--max-steps", "1", "--budget", "30"])
    assert code == 0 and server.total > 2  # the run made its calls, retries included
    streams = capsys.readouterr()
    written = "".join(p.read_text(errors="replace") for p in (tmp_path / "run").rglob("*") if p.is_file())
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1" in written  # the server URL is reported, without its user info
    for secret in (password, key):
        assert secret not in written + logged + streams.out + streams.err


def test_a_refused_key_stops_the_run_with_one_line_instead_of_failing_every_record(tmp_path, monkeypatch, capsys):
    from teamsrl_graph.cli import main
    from teamsrl_graph.testing.fake_openai import FakeOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    (tmp_path / "seeds.txt").write_text("".join(f"Explain idea {i}.\n" for i in range(20)))
    with FakeOpenAI(script=["401"] * 200) as server:
        code = main(["generate", "--seeds", str(tmp_path / "seeds.txt"), "--out", str(tmp_path / "run"),
                     "--model", "openai:fake-model", "--base-url", server.base_url, "--concurrency", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "refused the API key (HTTP 401)" in err and "Traceback" not in err
    assert server.total <= 2  # the seeds in flight at most, not one failed call per seed
