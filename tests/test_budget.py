import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from teamsrl_graph.budget import Budget, count_tokens


def test_reserve_record_release_bookkeeping():
    b = Budget(max_queries=3)
    assert b.reserve(2) and not b.reserve(2) and b.reserve(1)
    b.record("expert", "deepen", 10, 5)
    b.release(1)
    assert (b.queries, b.reserved) == (1, 1)
    b.record("reviewer", "review", 7, 1)
    s = b.summary()
    assert s["queries"] == {"total": 2, "by_role": {"expert": 1, "reviewer": 1}, "by_node": {"deepen": 1, "review": 1}}
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


@settings(max_examples=40, deadline=None)
@given(cap=st.integers(0, 40), wants=st.lists(st.integers(1, 3), min_size=1, max_size=30), threads=st.integers(2, 8))
def test_concurrent_reservations_never_exceed_the_cap(cap, wants, threads):
    b = Budget(max_queries=cap)
    barrier = threading.Barrier(threads)

    def worker(k):
        barrier.wait()
        for n in wants[k::threads]:
            if b.reserve(n):
                for _ in range(n - 1):
                    b.record("expert", "n", 1, 1)
                b.release(1)  # one promised call is not needed
            assert b.queries + b.reserved <= cap

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert b.queries <= cap and b.reserved == 0


def test_offline_token_count():
    assert count_tokens("hello world") == 2
