"""Checkpointed threads that resume: killed in one process, finished in another with a fresh Context
and ledger (a real SqliteSaver on disk), replayed from an earlier checkpoint, paused for a human."""

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.evolve.resources import resources

SEED = "Explain how tides work."
SETTINGS = {"router": "fixed", "max_steps": 3, "answer_samples": 1, "budget": 12}

# Runs the thread in a process of its own and kills that process (os._exit, no clean-up) as it makes
# call number KILL_AT: booked in that process's ledger and lost with it.
FIRST_PROCESS = """
import os, sqlite3, sys
sys.path.insert(0, {tests!r})
from conftest import ScriptedChat, context_with, default_expert, default_reviewer
from langgraph.checkpoint.sqlite import SqliteSaver
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.models.factory import Models

made = 0
def counted(reply):
    def answer(prompt):
        global made
        made += 1
        if made == {kill_at}:
            os._exit(9)
        return reply(prompt)
    return answer

expert = ScriptedChat(reply=counted(default_expert))
context = context_with(Models(expert, ScriptedChat(reply=counted(default_reviewer)), expert), **{settings!r})
saver = SqliteSaver(sqlite3.connect({db!r}, check_same_thread=False))
build_graph(checkpointer=saver).invoke({{"seed": {seed!r}}}, {{"configurable": {{"thread_id": "t1"}}}},
                                       context=context, durability="sync")
"""


def saver(path: Path) -> SqliteSaver:
    return SqliteSaver(sqlite3.connect(path, check_same_thread=False))


def books_by_node(ctx) -> dict:
    return dict(resources(ctx).budget.by_node)


@pytest.mark.parametrize("kill_at", [2, 4, 7])  # in the first review, in the second review, in respond
def test_a_killed_thread_resumes_in_a_fresh_process_with_exact_books(make_context, tmp_path, kill_at):
    whole = make_context(**SETTINGS)
    expected = build_graph().invoke({"seed": SEED}, context=whole)  # the same thread, never interrupted
    db = tmp_path / "checkpoints.sqlite"
    script = FIRST_PROCESS.format(tests=str(Path(__file__).parent), kill_at=kill_at, settings=SETTINGS, db=str(db),
                                  seed=SEED)
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr[-2000:]

    graph, config = build_graph(checkpointer=saver(db)), {"configurable": {"thread_id": "t1"}}
    before = graph.get_state(config)
    assert before.next and "response" not in before.values  # cut off part way
    carried = before.values["books"]["queries"]
    assert carried == kill_at - 1  # the calls of finished nodes; the one cut off is in no checkpoint

    fresh = make_context(**SETTINGS)  # a new Context: a new, empty ledger
    out = graph.invoke(None, config, context=fresh)
    ledger = resources(fresh).budget
    assert out["response"] == expected["response"] and out["path"] == expected["path"] and out["status"] == "done"
    assert books_by_node(fresh) == books_by_node(whole)  # every call of the thread booked once
    made_here = len(resources(fresh).models.expert.calls) + len(resources(fresh).models.reviewer.calls)
    assert ledger.queries == carried + made_here == resources(whole).budget.queries <= SETTINGS["budget"]
    assert ledger.reserved == 0 and graph.get_state(config).values["books"]["queries"] == ledger.queries


def test_a_resumed_thread_the_new_cap_cannot_hold_is_refused(make_context, tmp_path):
    db = tmp_path / "checkpoints.sqlite"
    script = FIRST_PROCESS.format(tests=str(Path(__file__).parent), kill_at=5, settings=SETTINGS, db=str(db), seed=SEED)
    assert subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=120).returncode == 9
    graph, config = build_graph(checkpointer=saver(db)), {"configurable": {"thread_id": "t1"}}
    with pytest.raises(Exception, match="the budget cannot take them on"):  # 4 made + 3 promised > 5
        graph.invoke(None, config, context=make_context(**{**SETTINGS, "budget": 5}))


def test_replaying_an_earlier_checkpoint_promises_its_calls_again(make_context, tmp_path):
    ctx = make_context(**{**SETTINGS, "budget": 30})
    graph, config = build_graph(checkpointer=saver(tmp_path / "c.sqlite")), {"configurable": {"thread_id": "t2"}}
    first = graph.invoke({"seed": SEED}, config, context=ctx)
    ledger = resources(ctx).budget
    assert ledger.reserved == 0 and ledger.queries == 7
    history = list(graph.get_state_history(config))[::-1]  # oldest first
    before_review = next(s for s in history if s.next == ("review",))  # the first review
    again = graph.invoke(None, before_review.config, context=ctx)  # the same Context and ledger
    assert again["response"] == first["response"] and ledger.reserved == 0
    assert ledger.queries == 7 + 6  # the replay made its review, two more steps and the answer again


def test_human_review_pauses_before_accepting_and_resumes_with_the_decision(make_context, tmp_path):
    ctx = make_context(**{**SETTINGS, "max_steps": 2, "review": "human"})
    graph, config = build_graph(checkpointer=saver(tmp_path / "h.sqlite")), {"configurable": {"thread_id": "t3"}}
    paused = graph.invoke({"seed": SEED}, config, context=ctx)
    [question] = paused["__interrupt__"]
    assert question.value["op"] == "breadth" and question.value["old"] == SEED and question.value["verdict"]["accepted"]
    paused = graph.invoke(Command(resume={"accept": False}), config, context=ctx)  # the human turns it down
    [question] = paused["__interrupt__"]
    assert question.value["op"] == "add_constraints" and question.value["old"] == SEED
    out = graph.invoke(Command(resume=True), config, context=ctx)
    assert [(s["op"], s["accepted"], s["reason"]) for s in out["path"]] == [
        ("breadth", False, "rejected_by_human"), ("add_constraints", True, "gained")]
    assert out["instruction"] == out["path"][1]["candidate"] and out["status"] == "done"
    ledger = resources(ctx).budget
    assert ledger.queries == 2 * 2 + 1 and ledger.reserved == 0  # a human decision books no call
