import json
import re
from pathlib import Path
from typing import TypedDict

import pytest
from conftest import default_expert
from langgraph.graph import END, START, StateGraph

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.evolve import steps
from teamsrl_graph.constraints import TYPES, stated, verify
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate

SEED = "Explain how tides work."


def run_one(ctx, seed=SEED):
    return build_graph().invoke({"seed": seed}, context=ctx)


def test_fixed_router_evolves_reviews_and_answers(make_context):
    ctx = make_context(router="fixed", max_steps=3, answer_samples=3)
    out = run_one(ctx)
    assert [s["op"] for s in out["path"]] == ["breadth", "add_constraints", "deepen"]
    assert all(s["accepted"] and s["reason"] == "gained" for s in out["path"])
    assert out["instruction"] == out["path"][-1]["candidate"] != SEED
    drawn = out["path"][1]["constraint"]
    assert drawn["id"] in TYPES and not out["path"][1]["fallback"]
    assert out["constraints"] == [drawn] and stated(out["instruction"], drawn)
    # the scripted answer is checked against the constraint; answers are tried until one passes (3 at most)
    assert out["verification"] == verify(out["response"], [drawn]) and out["constraints_ok"] is out["verification"]["strict"]
    samples = 1 if out["constraints_ok"] else 3
    assert out["response_ok"] is out["constraints_ok"] and out["queries"] == 3 * 2 + samples
    assert resources(ctx).budget.summary()["queries"]["by_node"] == {
        "breadth": 1, "add_constraints": 1, "deepen": 1, "review": 3, "respond": samples}


LOWERCASE = {"id": "change_case:english_lowercase", "kwargs": {}}


def test_answers_are_sampled_until_one_meets_the_constraints(make_context, monkeypatch):
    monkeypatch.setattr(steps, "draw_constraint", lambda *args: LOWERCASE)
    answers = iter(["Tides Rise Twice.", "Sorry, I cannot help with that.", "tides rise twice a day.", "unused."])
    ctx = make_context(responder=lambda p: next(answers), router="fixed", max_steps=2, answer_samples=4, repair="off")
    out = run_one(ctx)
    assert out["constraints"] == [LOWERCASE] and stated(out["instruction"], LOWERCASE)
    assert out["response"] == "tides rise twice a day." and out["response_ok"] and out["constraints_ok"]
    assert out["queries"] == 2 * 2 + 3 and resources(ctx).budget.reserved == 0  # the fourth sample was not needed


def test_no_sample_meeting_the_constraints_fails_the_record(make_context, monkeypatch):
    monkeypatch.setattr(steps, "draw_constraint", lambda *args: LOWERCASE)
    ctx = make_context(responder=lambda p: "Tides Rise.", router="fixed", max_steps=2, answer_samples=2, repair="off")
    out = run_one(ctx)
    assert out["response"] == "Tides Rise." and not out["response_ok"] and out["constraints_ok"] is False
    assert out["verification"]["results"] == [{"id": LOWERCASE["id"], "strict": False, "loose": False}]
    assert out["queries"] == 2 * 2 + 2 and out["repaired"] == []


def test_an_answer_the_registry_can_repair_ends_the_sampling(make_context, monkeypatch):
    monkeypatch.setattr(steps, "draw_constraint", lambda *args: LOWERCASE)
    answers = iter(["Sorry, I cannot help with that.", "Tides Rise Twice A Day.", "unused.", "unused."])
    ctx = make_context(responder=lambda p: next(answers), router="fixed", max_steps=2, answer_samples=4, repair="on")
    out = run_one(ctx)
    # the refusal is not repaired; the second answer, lowercased, meets the constraint and ends the sampling
    assert out["response"] == "tides rise twice a day." and out["response_ok"] and out["constraints_ok"]
    assert out["repaired"] == [LOWERCASE["id"]] and out["verification"]["strict"]
    assert out["queries"] == 2 * 2 + 2 and resources(ctx).budget.reserved == 0


def test_a_rewrite_that_drops_the_requirement_falls_back_to_the_registry(make_context):
    ctx = make_context(expert=lambda p: "Sure! Tides are caused by the moon." if p.startswith("Task:") else "Answer.",
                       router="fixed", max_steps=2)
    out = run_one(ctx)
    drawn = out["path"][1]["constraint"]
    assert out["path"][1]["fallback"] and out["path"][1]["accepted"]
    # the requirement is stated in one of the training phrasings, around the unchanged task
    assert stated(out["instruction"], drawn) and SEED.rstrip(".")[1:] in out["instruction"] and out["constraints"] == [drawn]


def test_an_operation_that_drops_a_constraint_gets_it_back(make_context, monkeypatch):
    monkeypatch.setattr(steps, "draw_constraint", lambda *args: LOWERCASE)
    expert = lambda p: "Explain in depth how tides work on every coast." if "Requirement" not in p else default_expert(p)
    ctx = make_context(expert=expert, router="fixed", max_steps=3, answer_samples=1)  # breadth, add_constraints, deepen
    out = run_one(ctx)
    assert out["path"][2]["accepted"] and not stated(out["path"][2]["candidate"], LOWERCASE)
    assert stated(out["instruction"], LOWERCASE) and out["constraints"] == [LOWERCASE]
    assert out["path"][2]["candidate"].rstrip(".")[1:] in out["instruction"]


def test_no_gain_rolls_back_every_step(make_context):
    out = run_one(make_context(reviewer=lambda p: "No", max_steps=2))
    assert [s["reason"] for s in out["path"]] == ["no_gain", "no_gain"]
    assert out["instruction"] == SEED


def test_rule_four_eliminates_without_asking_the_reviewer(make_context):
    ctx = make_context(expert=lambda p: "Sure! Tides are caused by the moon." if p.startswith("Task:") else "Answer.",
                       router="random", seed=3, max_steps=2)
    out = run_one(ctx)
    assert "add_constraints" not in [s["op"] for s in out["path"]]  # (that one falls back instead: see below)
    assert [s["reason"] for s in out["path"]] == ["answered_not_rewritten"] * 2
    assert resources(ctx).models.reviewer.calls == []
    assert out["queries"] == 2 + 1 and resources(ctx).budget.reserved == 0


def test_a_refused_answer_rolls_back_the_last_evolution(make_context):
    responder = lambda p: "Sorry, I cannot help." if "bullet" in p else "Tides follow the moon's pull on the oceans."
    ctx = make_context(responder=responder, router="fixed", max_steps=2, answer_samples=1)
    out = run_one(ctx)
    # the first evolution added "bullet", so both answers were refused and both evolutions rolled back
    assert [s["reason"] for s in out["path"]] == ["bad_answer:refusal"] * 2
    assert out["response_ok"] and out["instruction"] == SEED
    assert out["queries"] == 2 * 2 + 3  # two steps, three answers


def test_unreadable_reviews_count_as_no_gain(make_context):
    out = run_one(make_context(reviewer=lambda p: "The first instruction is", max_steps=1))
    assert out["path"][0]["reason"] == "unreadable_review"


@pytest.mark.parametrize("cap", [1, 2, 5, 13, 40])
def test_budget_cap_is_never_exceeded_under_concurrency(make_context, cap):
    ctx = make_context(router="random", max_steps=4, budget=cap)
    seeds = [f"Explain topic number {i} in detail." for i in range(12)]
    records = generate(seeds, context=ctx, concurrency=6, progress=False)
    ledger = resources(ctx).budget
    total = sum(r["queries"] for r in records)
    assert ledger.max_queries == cap and ledger.queries == total <= cap
    assert all(r["response"] for r in records)  # every started instruction was answered
    assert 1 <= len(records) <= min(cap, 12)
    assert ledger.reserved == 0  # every promised call was made or given back


@pytest.mark.parametrize("cap", [0, -5, 2.5, True])
def test_a_cap_that_is_not_a_positive_whole_number_is_refused(make_context, cap):
    with pytest.raises(InputError) as error:
        make_context(budget=cap)
    assert error.value.field == "budget"


def test_random_router_is_reproducible_whatever_the_concurrency(make_context):
    seeds = [f"Describe animal number {i}." for i in range(8)]
    paths = []
    for concurrency in (1, 8):
        records = generate(seeds, context=make_context(router="random", seed=7, max_steps=3), concurrency=concurrency, progress=False)
        paths.append({r["seed"]: [s["op"] for s in r["path"]] for r in records})
    assert paths[0] == paths[1]
    assert len({tuple(p) for p in paths[0].values()}) > 1


def test_generate_writes_dataset_and_report(make_context, tmp_path):
    ctx = make_context(max_steps=2, budget=100, answer_samples=1)
    generate(["Explain tides.", "Write a poem."], out=tmp_path, context=ctx, progress=False)
    records = [json.loads(line) for line in (tmp_path / "dataset.jsonl").read_text().splitlines()]
    report = json.loads((tmp_path / "report.json").read_text())
    assert {r["seed"] for r in records} == {"Explain tides.", "Write a poem."}
    assert set(records[0]) >= {"id", "seed", "input", "instruction", "response", "response_ok", "path", "queries"}
    assert report["queries"]["total"] == sum(r["queries"] for r in records) == 2 * (2 * 2 + 1)
    assert report["budget"] == 100 and report["accepted"] == 4 and report["eliminated"] == 0
    assert report["queries"]["by_role"] == {"expert": 4, "reviewer": 4, "responder": 2}
    assert report["machine"]["cores"] >= 1 and report["completion_tokens_per_second"] > 0  # a speed says where it was measured
    with pytest.raises(InputError, match="already holds a dataset.jsonl"):
        generate(["Explain tides."], out=tmp_path, context=make_context(), progress=False)


def test_the_graph_works_as_a_subgraph_of_an_app(make_context):
    class AppState(TypedDict, total=False):
        seed: str
        response: str
        instruction: str
        summary: str

    def summarise(state: AppState):
        return {"summary": f"{state['instruction']} -> {state['response'][:10]}"}

    app = StateGraph(AppState)
    app.add_node("evolve", build_graph())
    app.add_node("summarise", summarise)
    app.add_edge(START, "evolve")
    app.add_edge("evolve", "summarise")
    app.add_edge("summarise", END)
    out = app.compile().invoke({"seed": SEED}, context=make_context(max_steps=1))
    assert out["instruction"] != SEED and out["summary"].startswith(out["instruction"])


def test_the_docs_show_the_current_graph():
    page = (Path(__file__).parents[1] / "docs" / "concepts" / "graph.md").read_text()
    block = re.search(r"```mermaid\n(.*?)```", page, re.S)
    assert block, "docs/concepts/graph.md has no mermaid block"
    assert block.group(1).strip() == build_graph().get_graph().draw_mermaid().strip()


def test_the_custom_stream_reports_routing_and_the_ledger(make_context):
    ctx = make_context(router="fixed", max_steps=2, budget=20, answer_samples=1)
    events = [chunk for mode, chunk in build_graph().stream({"seed": SEED}, context=ctx, stream_mode=["custom", "updates"])
              if mode == "custom" and chunk["event"] == "route"]
    assert [(e["step"], e["action"]) for e in events] == [(0, "breadth"), (1, "add_constraints"), (2, "stop")]
    assert [e["queries"] for e in events] == [0, 2, 4] and {e["budget"] for e in events} == {20}


def test_generate_hands_its_config_to_every_run(make_context):
    from langchain_core.callbacks import BaseCallbackHandler

    class Tags(BaseCallbackHandler):
        def __init__(self):
            self.seen = set()

            self.llm_calls = 0

        def on_chain_start(self, serialized, inputs, *, tags=None, **kwargs):
            self.seen.update(tags or [])

        def on_chat_model_start(self, serialized, messages, **kwargs):  # the LLM calls inside nodes reach it too
            self.llm_calls += 1

    handler, ctx = Tags(), make_context(max_steps=1, answer_samples=1)
    records = generate([SEED, "Write a poem."], context=ctx, progress=False, config={"callbacks": [handler], "tags": ["mine"]})
    assert "mine" in handler.seen and {f"record:{r['id']}" for r in records} <= handler.seen
    assert handler.llm_calls == resources(ctx).budget.queries == 2 * 3


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_an_instruction_carries_at_most_max_constraints(make_context, limit):
    ctx = make_context(max_steps=3, max_constraints=limit, answer_samples=1, router=lambda obs: "add_constraints")
    out = run_one(ctx)
    drawn = [s["constraint"] for s in out["path"]]
    assert len(out["constraints"]) == limit and all(drawn[:limit]) and not any(drawn[limit:])
