"""The graph's improve stage: PIT and Self-Refine loops with scripted models and a fake gap scorer."""

import json
import re
import shutil

import pytest
from conftest import ScriptedChat, context_with, default_expert

from teamsrl_graph.common import prompts
from teamsrl_graph.running.budget import Budget
from teamsrl_graph.cli import main
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.models.factory import Models
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate

SEED = "Explain how tides work."
DRAFT = default_expert("")  # what the scripted responder answers
MORE = " More detail."


class FakeGap:
    """A gap scorer whose predicted gain is `gain(reference, response)`; records what it was asked."""

    def __init__(self, gain=lambda reference, response: 1.0):
        self.gain, self.calls = gain, []

    def score(self, instructions, references, responses):
        self.calls.append((instructions, references, responses))
        return [self.gain(ref, y) for ref, y in zip(references, responses)]


def answer_in(prompt: str) -> str:
    """The current answer inside an improve/critique/refine prompt ("Answer: ...")."""
    return re.search(r"^Answer: (.*)$", prompt, re.M).group(1)


def add_detail(prompt: str) -> str:
    return answer_in(prompt) + MORE


def make(improver=add_detail, improve="pit", gap="fake", budget=None, **settings) -> Context:
    expert = ScriptedChat(reply=default_expert)
    models = Models(expert=expert, reviewer=ScriptedChat(reply=lambda p: "Yes"), responder=expert,
                    improver=ScriptedChat(reply=improver))
    return context_with(models, improve=improve, gap=FakeGap() if gap == "fake" else gap, budget=budget,
                        **{"max_steps": 0, **settings})


def run_one(ctx, **state):
    return build_graph().invoke({"seed": SEED, **state}, context=ctx)


def test_pit_stops_when_the_predicted_gap_reaches_the_threshold():
    gap = FakeGap(lambda ref, y: 1.0 if y.count(MORE) < 3 else 0.0)  # the third rewrite gains nothing
    ctx = make(gap=gap, improve_rounds=5, improve_threshold=0.0)
    out = run_one(ctx, input="Tides at Brest.")
    assert len(resources(ctx).models.improver.calls) == 3
    assert [(i["round"], i["accepted"], i["reason"], i["gap"]) for i in out["improvements"]] == [
        (1, True, "improved", 1.0), (2, True, "improved", 1.0), (3, False, "no_gap", 0.0)]
    assert out["draft"] == DRAFT and out["response"] == DRAFT + MORE * 2  # the last accepted rewrite
    assert out["improve_stop"] == "no_gap" and out["response_ok"]
    assert out["queries"] == 1 + 3 and resources(ctx).budget.summary()["queries"]["by_node"] == {"respond": 1, "improve": 3}
    # the improver and the gap model see the instruction with its input appended, as PIT trains them
    assert gap.calls[0] == ([f"{SEED}\n\nTides at Brest."], [DRAFT], [DRAFT + MORE])
    assert resources(ctx).models.improver.calls[0].startswith(f"{SEED}\n\nTides at Brest.\n\nAnswer: {DRAFT}")


def test_pit_stops_at_max_rounds():
    ctx = make(improve_rounds=2)
    out = run_one(ctx)
    assert len(resources(ctx).models.improver.calls) == 2
    assert [i["accepted"] for i in out["improvements"]] == [True, True]
    assert out["improve_stop"] == "max_rounds" and out["response"] == DRAFT + MORE * 2
    assert resources(ctx).budget.reserved == 0


def test_pit_stops_on_the_budget_without_crossing_it():
    ledger = Budget(max_queries=3)  # the answer, then two rounds
    ctx = make(budget=ledger, improve_rounds=10)
    out = run_one(ctx)
    assert len(resources(ctx).models.improver.calls) == 2
    assert out["improve_stop"] == "budget" and out["response"] == DRAFT + MORE * 2
    assert ledger.queries == 3 and ledger.reserved == 0


@pytest.mark.parametrize("improve, cap", [("pit", 7), ("pit", 20), ("self-refine", 6), ("self-refine", 15)])
def test_improving_many_answers_at_once_never_crosses_the_cap(improve, cap):
    improver = add_detail if improve == "pit" else lambda p: add_detail(p) if "Feedback:" in p else "Add detail."
    ledger = Budget(max_queries=cap)
    ctx = make(improver=improver, improve=improve, budget=ledger, improve_rounds=3, router="random", max_steps=2)
    records = generate([f"Explain topic number {i}." for i in range(6)], context=ctx, concurrency=4, progress=False)
    assert ledger.queries == sum(r["queries"] for r in records) <= cap and ledger.reserved == 0
    assert ledger.by_role.get("improver", 0) <= cap - len(records)  # every record's answer came first
    assert {r["improve_stop"] for r in records if "draft" in r} <= {"budget", "max_rounds"}
    assert any(r["improve_stop"] == "budget" for r in records)


def self_refine(prompt: str) -> str:
    """Critique: one thing to fix, then nothing; refine: apply it."""
    if "Feedback:" in prompt:
        return answer_in(prompt) + " For example, Brest has two tides a day."
    return "NO ISSUES" if "For example" in answer_in(prompt) else "Add a concrete example."


def test_self_refine_stops_when_the_critique_is_satisfied_and_gives_the_refine_call_back():
    ledger = Budget(max_queries=9)
    ctx = make(improver=self_refine, improve="self-refine", budget=ledger, improve_rounds=3)
    out = run_one(ctx)
    assert [(i["accepted"], i["reason"], i["feedback"]) for i in out["improvements"]] == [
        (True, "improved", "Add a concrete example."), (False, "satisfied", "NO ISSUES")]
    assert out["improvements"][1]["candidate"] == "" and out["improvements"][0]["gap"] is None
    assert out["improve_stop"] == "satisfied" and out["response"].endswith("Brest has two tides a day.")
    assert ledger.summary()["queries"]["by_node"] == {"respond": 1, "critique": 2, "refine": 1}
    assert out["queries"] == ledger.queries == 4 and ledger.reserved == 0  # round 2's refine call went back
    assert ledger.reserve(5) and not ledger.reserve(1)


def test_self_refine_defaults_to_the_responder():
    expert = ScriptedChat(reply=default_expert)
    ctx = context_with(Models(expert=expert, reviewer=expert, responder=expert), improve="self-refine", max_steps=0)
    assert resources(ctx).models.improver is expert
    out = run_one(ctx)  # the scripted model's critique is not "NO ISSUES", and its rewrite is usable
    assert [i["reason"] for i in out["improvements"]] == ["improved", "improved"]


@pytest.mark.parametrize("improve", ["pit", "self-refine"])
@pytest.mark.parametrize("bad, reason", [("", "bad_answer:empty_answer"), ("Sorry, I cannot help with that.", "bad_answer:refusal"),
                                         ("The, and of it.", "bad_answer:stop_words_only")])
def test_a_bad_candidate_is_never_accepted(improve, bad, reason):
    gap = FakeGap()
    ctx = make(improver=lambda p: "Fix it." if improve == "self-refine" and "Feedback:" not in p else bad,
               improve=improve, gap=gap, improve_rounds=3)
    out = run_one(ctx)
    assert out["response"] == out["draft"] == DRAFT and out["response_ok"]
    assert [(i["accepted"], i["reason"], i["candidate"]) for i in out["improvements"]] == [(False, reason, bad)]
    assert out["improve_stop"] == reason and gap.calls == []  # a failed rewrite is not even scored


def test_a_rewrite_opener_is_not_part_of_the_answer():
    ctx = make(improver=lambda p: "Sure! Here is the improved answer: " + add_detail(p), improve_rounds=1)
    assert run_one(ctx)["response"] == DRAFT + MORE


def test_an_unusable_answer_is_not_improved():
    refusing = ScriptedChat(reply=lambda p: "Sorry, I cannot help.")
    improver = ScriptedChat(reply=add_detail)
    ctx = context_with(Models(expert=refusing, reviewer=refusing, responder=refusing, improver=improver),
                       improve="pit", gap=FakeGap(), max_steps=0)
    out = run_one(ctx)
    assert not out["response_ok"] and improver.calls == [] and "improvements" not in out


def test_improve_none_is_the_graph_without_the_stage(tmp_path):
    outputs = []
    for improver in (None, ScriptedChat(reply=add_detail)):
        expert = ScriptedChat(reply=default_expert)
        ctx = context_with(Models(expert=expert, reviewer=ScriptedChat(reply=lambda p: "Yes"), responder=expert,
                                  improver=improver), max_steps=2)
        outputs.append(run_one(ctx))
        assert improver is None or improver.calls == []
        assert "improve" not in resources(ctx).budget.summary()["queries"]["by_node"]
    assert outputs[0] == outputs[1]
    assert not {"draft", "improvements", "improve_stop"} & set(outputs[0])
    generate([SEED], out=tmp_path, context=make(improve="none"), progress=False)
    assert "improve" not in json.loads((tmp_path / "report.json").read_text())


def test_generate_records_the_rounds_and_reports_them(tmp_path):
    ctx = make(gap=FakeGap(lambda ref, y: 1.0 if y.count(MORE) < 2 else -0.5), improve_rounds=3)
    generate([SEED, "Write a poem about rain."], out=tmp_path, context=ctx, progress=False)
    records = [json.loads(line) for line in (tmp_path / "dataset.jsonl").read_text().splitlines()]
    report = json.loads((tmp_path / "report.json").read_text())
    assert all(r["draft"] == DRAFT and r["response"] == DRAFT + MORE and len(r["improvements"]) == 2 for r in records)
    assert report["improve"] == {"mode": "pit", "rounds": 4, "accepted": 2, "improved_records": 2, "stopped_by": {"no_gap": 2},
                                 "settings": {"pit": None, "improver_model": None, "rounds": 3, "threshold": 0.0}}
    assert report["queries"]["by_node"] == {"respond": 2, "improve": 4}


@pytest.mark.parametrize("settings, field", [
    ({"improve": "best"}, "improve"),
    ({"improve": "pit", "gap": None}, "pit"),  # no improver and no gap model
])
def test_bad_improve_settings_name_the_field(settings, field):
    expert = ScriptedChat(reply=default_expert)
    with pytest.raises(InputError) as error:
        context_with(Models(expert=expert, reviewer=expert, responder=expert), **settings)
    assert error.value.field == field


def test_pit_needs_a_gap_model_and_an_existing_folder(tmp_path):
    with pytest.raises(InputError, match="needs a gap model") as error:
        make(gap=None)  # an improver but neither a gap scorer nor a pit folder
    assert error.value.field == "pit"
    with pytest.raises(InputError, match="does not exist") as error:
        make(gap=None, pit=str(tmp_path / "missing"))
    assert str(tmp_path / "missing") in str(error.value)
    with pytest.raises(InputError, match="no improver/ folder"):
        resources(Context(improve="pit", pit=str(tmp_path)))


def test_a_broken_improve_prompt_fails_before_any_output(tmp_path):
    folder = tmp_path / "prompts"
    shutil.copytree(prompts.default_folder(), folder)
    (folder / "refine.txt").write_text("[user]\nRewrite {response} for {instruction}.")  # no {feedback}
    with pytest.raises(InputError, match="missing placeholder {feedback}"):
        generate([SEED], out=tmp_path / "out", context=make(improve="self-refine", prompts=str(folder)), progress=False)
    assert not (tmp_path / "out" / "dataset.jsonl").exists()
    for name in ("improve", "critique", "refine"):  # older prompt folders still serve runs without improvement
        (folder / f"{name}.txt").unlink()
    assert generate([SEED], context=make(improve="none", prompts=str(folder)), progress=False)[0]["response_ok"]


@pytest.mark.parametrize("args, message", [
    (["--improve", "pit"], "field '--pit': improve='pit' needs a trained improver"),
    (["--improve", "pit", "--pit", "MISSING"], "MISSING field '--pit': the PIT folder does not exist"),
    (["--pit", "."], "field '--pit': is only used with --improve pit"),
    (["--improve", "self-refine", "--improve-rounds", "0"], "field '--improve-rounds': must be a whole number of at least 1"),
    (["--budget", "0"], "field '--budget': must be a whole number of at least 1"),
    (["--temperature", "nan"], "field '--temperature': must be a number of 0 or more, got nan"),
])
def test_cli_checks_the_improve_options(tmp_path, capsys, args, message):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("Explain tides.\n")
    args = [str(tmp_path / a) if a == "MISSING" else a for a in args]
    code = main(["generate", "--seeds", str(seeds), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message.replace("MISSING", str(tmp_path / "MISSING")) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode, calls", [("pit", 2), ("self-refine", 4)])
def test_given_answers_are_improved_by_the_graphs_own_loop(mode, calls):
    """improve_answers starts from the answers it is given (never answering itself), in order, with the
    rounds and the budget of the improve step; an unusable answer is left as it is."""
    from teamsrl_graph.running.improve import improve_answers

    ctx = make(improve=mode, improve_rounds=1)
    answers = ["The moon pulls the sea.", "The sun helps too.", ""]
    records = improve_answers([SEED, "Explain eclipses.", SEED], answers, ctx, concurrency=2, progress=False)
    assert [r["draft"] for r in records] == answers
    assert [r["response"] for r in records] == [answers[0] + MORE, answers[1] + MORE, ""]
    assert [r["improve_stop"] for r in records] == ["max_rounds", "max_rounds", "bad_answer:empty_answer"]
    assert resources(ctx).budget.queries == sum(r["queries"] for r in records) == calls
    assert not resources(ctx).models.responder.calls  # nothing was answered afresh


def test_improving_given_answers_needs_a_mode_and_one_answer_each():
    from teamsrl_graph.running.improve import improve_answers

    with pytest.raises(InputError, match="improve mode"):
        improve_answers([SEED], ["An answer."], make(improve="none"), progress=False)
    with pytest.raises(InputError, match="2 instructions but 1 answers"):
        improve_answers([SEED, SEED], ["An answer."], make(), progress=False)
