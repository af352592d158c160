import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamsrl_graph.running.budget import Budget, count_tokens
from teamsrl_graph.common.errors import InputError


@pytest.mark.parametrize("settings, field, message", [
    ({"max_queries": -1}, "max_queries", "a whole number of at least 0 or empty, got -1"),
    ({"max_queries": "3"}, "max_queries", "got '3'"),
    ({"max_tokens": 2.5}, "max_tokens", "got 2.5"),
    ({"call_tokens": -5}, "call_tokens", "a whole number of at least 0, got -5"),
    ({"queries": True}, "queries", "got True"),
])
def test_a_ledger_with_a_bad_cap_or_count_is_refused(settings, field, message):
    with pytest.raises(InputError, match=message) as error:
        Budget(**settings)
    assert error.value.field == field


def test_reserve_record_release_bookkeeping():
    b = Budget(max_queries=3)
    assert b.reserve(2) and not b.reserve(2) and b.reserve(1)
    b.record("expert", "deepen", 10, 5)
    b.release(1)
    assert (b.queries, b.reserved) == (1, 1)
    b.record("reviewer", "review", 7, 1)
    s = b.summary()
    assert s["queries"] == {"total": 2, "requests": 2, "failed": 0, "by_role": {"expert": 1, "reviewer": 1}, "by_node": {"deepen": 1, "review": 1}}
    assert s["tokens"]["total"] == 23 and s["tokens"]["by_role"]["expert"] == {"prompt": 10, "completion": 5}


def test_a_call_without_reservation_is_a_bug():
    b = Budget(max_queries=1)
    try:
        b.record("expert", "x", 1, 1)
    except RuntimeError:
        return
    raise AssertionError("record without reservation was accepted")


def test_token_cap_holds_back_the_worst_case_per_call():
    b = Budget(max_tokens=1000, call_tokens=400)
    assert b.reserve(2) and not b.reserve(1)
    b.record("expert", "x", 100, 50)
    b.record("expert", "x", 100, 50)
    assert b.reserve(1) and not b.reserve(1)  # 300 used + 400 held <= 1000 < 300 + 800


def run_together(worker, threads: int):
    """worker(0), ..., worker(threads - 1), each in its own thread, all at once (they meet at a barrier)."""
    barrier = threading.Barrier(threads)

    def start(k):
        barrier.wait()
        worker(k)

    pool = [threading.Thread(target=start, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


@settings(max_examples=40, deadline=None)
@given(cap=st.integers(0, 40), wants=st.lists(st.integers(1, 3), min_size=1, max_size=30), threads=st.integers(2, 8))
def test_concurrent_reservations_never_exceed_the_cap(cap, wants, threads):
    b = Budget(max_queries=cap)

    def worker(k):
        for n in wants[k::threads]:
            if b.reserve(n):
                for _ in range(n - 1):
                    b.record("expert", "n", 1, 1)
                b.release(1)  # one promised call is not needed
            assert b.queries + b.reserved <= cap

    run_together(worker, threads)
    assert b.queries <= cap and b.reserved == 0


@settings(max_examples=40, deadline=None)
@given(cap=st.integers(0, 60), requests=st.lists(st.integers(1, 16), min_size=1, max_size=30), threads=st.integers(2, 8))
def test_requests_of_many_samples_never_exceed_the_cap(cap, requests, threads):
    """A request for k answers books k calls: however many threads ask at once, the samples booked
    never pass the cap, and requests and samples are counted apart."""
    b = Budget(max_queries=cap)
    made = []

    def worker(k):
        for n in requests[k::threads]:
            while n and not b.reserve(n):  # ask for fewer samples when the cap cannot fund them all
                n -= 1
            if n:
                b.start("responder", "respond", samples=n)
                made.append(n)
            assert b.queries + b.reserved <= cap

    run_together(worker, threads)
    assert b.queries == sum(made) <= cap and b.requests == len(made) and b.reserved == 0
    assert b.by_role["responder"] == b.queries


def test_a_request_needs_a_reservation_for_every_sample():
    b = Budget(max_queries=10)
    assert b.reserve(3)
    with pytest.raises(RuntimeError):
        b.start("responder", "respond", samples=4)
    b.start("responder", "respond", samples=3)
    assert (b.queries, b.requests, b.reserved) == (3, 1, 0)
    again = Budget.from_state(json.loads(json.dumps(b.state())))
    assert (again.queries, again.requests) == (3, 1)


def test_offline_token_count():
    assert count_tokens("hello world") == 2


def test_failed_calls_count_against_the_cap():
    b = Budget(max_queries=2)
    assert b.reserve(2)
    (b.start("expert", "deepen"), b.mark_failed())
    b.record("expert", "deepen", 10, 3)
    assert not b.reserve(1) and (b.queries, b.failed, b.reserved, b.used_tokens) == (2, 1, 0, 13)
    assert b.summary()["queries"]["failed"] == 1 and b.by_node == {"deepen": 2}


CALLS = st.lists(st.tuples(st.sampled_from(["expert", "reviewer", "responder"]), st.sampled_from(["deepen", "review", "respond"]),
                           st.integers(0, 500), st.integers(0, 200), st.booleans()), max_size=30)


@settings(max_examples=60, deadline=None)
@given(calls=CALLS, cap=st.one_of(st.none(), st.integers(30, 60)), tokens=st.one_of(st.none(), st.integers(30 * 2000, 10 ** 6)),
       held=st.integers(0, 3))
def test_state_round_trips_through_json(calls, cap, tokens, held):
    b = Budget(max_queries=cap, max_tokens=tokens, call_tokens=2000)
    for role, node, p, c, failed in calls:
        assert b.reserve(1)
        (b.start(role, node), b.mark_failed()) if failed else b.record(role, node, p, c)
    b.reserve(held)
    again = Budget.from_state(json.loads(json.dumps(b.state())))
    assert again.state() == b.state() and again.summary() == b.summary()
    assert again.reserved == 0 and again.remaining_fraction == (None if cap is None else 1 - len(calls) / cap)


def test_a_restored_ledger_refuses_reservations_past_the_original_cap(tmp_path):
    b = Budget(max_queries=5)
    assert b.reserve(4)
    for _ in range(3):
        b.record("expert", "deepen", 10, 5)
    (b.start("reviewer", "review"), b.mark_failed())
    path = b.save(tmp_path / "budget.json")
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away
    resumed = Budget.load(path)
    assert (resumed.queries, resumed.failed, resumed.reserved, resumed.max_queries) == (4, 1, 0, 5)
    assert not resumed.reserve(2) and resumed.reserve(1) and not resumed.reserve(1)
    resumed.record("responder", "respond", 1, 1)
    assert resumed.summary()["queries"]["by_role"] == {"expert": 3, "reviewer": 1, "responder": 1}


def test_saving_replaces_the_file_whole(tmp_path, monkeypatch):
    from teamsrl_graph.common import files

    path = tmp_path / "budget.json"
    Budget(max_queries=3).save(path)
    before = path.read_text()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError):
        Budget(max_queries=9).save(path)
    assert path.read_text() == before and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "budget.json:1: bad JSON"),
        ("[]", "budget.json: expected a JSON object"),
        ('{"queries": 1}', "field 'prompt_tokens': missing"),
        ('{"queries": -1, "prompt_tokens": 0, "completion_tokens": 0, "by_role": {}, "by_node": {}}',
         "budget.json field 'queries': must be a whole number of at least 0, got -1"),
        ('{"queries": 1, "prompt_tokens": 0, "completion_tokens": 0, "by_role": {"x": "1"}, "by_node": {}}',
         "budget.json field 'by_role.x': must be a whole number of at least 0, got '1'"),
        ('{"max_queries": 2.5, "queries": 1, "prompt_tokens": 0, "completion_tokens": 0, "by_role": {}, "by_node": {}}',
         "budget.json field 'max_queries': must be a whole number of at least 0 or empty, got 2.5"),
        ('{"queries": true, "prompt_tokens": 0, "completion_tokens": 0, "by_role": {}, "by_node": {}}',
         "budget.json field 'queries': must be a whole number of at least 0, got True"),
        ('{"version": 7, "queries": 1}', "field 'version': unknown layout"),
    ],
)
def test_bad_ledger_files_name_the_field(tmp_path, content, message):
    path = tmp_path / "budget.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        Budget.load(path)


def test_bookings_made_while_charging_an_account_are_mirrored_into_it():
    from teamsrl_graph.running.budget import charging

    ledger, account = Budget(max_queries=10), Budget()
    ledger.reserve(1)  # before: the ledger's alone
    with charging(account):
        assert ledger.reserve(3)
        ledger.record("expert", "deepen", 10, 5)
        ledger.start("reviewer", "review")
        ledger.mark_failed()
        ledger.release(1)
    assert (account.queries, account.reserved, account.failed, account.used_tokens) == (2, 0, 1, 15)
    assert dict(account.by_node) == {"deepen": 1, "review": 1}
    assert (ledger.queries, ledger.reserved) == (2, 1)


def test_a_ledger_adopts_a_thread_once_under_its_caps():
    from teamsrl_graph.running.budget import charging

    earlier, account = Budget(max_queries=10), Budget()
    with charging(account):
        earlier.reserve(3)
        earlier.record("expert", "deepen", 10, 5)
    books = account.state()
    fresh = Budget(max_queries=10)
    adopted = fresh.adopt("t1", books, held=2)
    assert (fresh.queries, fresh.reserved, fresh.used_tokens, dict(fresh.by_role)) == (1, 2, 15, {"expert": 1})
    assert fresh.adopt("t1", books, held=2) is adopted and (fresh.queries, fresh.reserved) == (1, 2)  # known: once
    with pytest.raises(InputError) as error:
        Budget(max_queries=2).adopt("t1", books, held=2)  # 1 made + 2 promised > 2
    assert error.value.field == "budget"
