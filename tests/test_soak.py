"""`teamsrl generate` as a process against the fake server with faults, killed with SIGKILL and
resumed until done: nothing lost, nothing duplicated, every request booked, the cap held."""

from teamsrl_graph.testing.soak import soak


def test_kills_and_faults_lose_nothing_and_book_every_request(tmp_path):
    result = soak(tmp_path, seeds=16, budget=400, fault_rate=0.15, kills=2, max_steps=1,
                  concurrency=4, seed=1)
    assert result["kills"] == 2 and result["exit_codes"] == [0], result
    assert result["records"] == 16 and result["duplicated"] == 0 and result["lost"] == 0, result
    # every request is booked before it is sent: a kill can only leave a booked call unsent, never the reverse
    assert result["http_requests"] <= result["requests_booked"] <= result["http_requests"] + 2 * 4, result
    assert result["requests_booked"] <= result["queries_booked"], result  # answers drawn several to a request
    assert result["budget_held"], result
    assert result["tracebacks"] == 0 and sum(v for k, v in result["server_outcomes"].items() if k != "ok") > 0, result
