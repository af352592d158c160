"""benchmarks/router_downstream.py end to end on a tiny Llama built from a config, split over two sittings:
each router builds its dataset with the main job's generation settings, each dataset gets the main
job's fine-tune, the base model answers once, every model is paired with the base and learned with
random, and --reuse makes only what is missing.

The chat models are scripted: conftest's expert and reviewer, and a responder that is told the
constraints of the instruction it answers and builds an answer meeting the easier types (about half
of the instructions verify). The graph, the routers (the shipped policy among them), the verifiers,
the ledger, the fine-tunes, the answers and the paired test are real."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import ScriptedChat, Spy, default_expert, default_reviewer
from test_benchmark_results import script

from teamsrl_graph.commands import pipeline
from teamsrl_graph.commands.pipeline import HELDOUT_SEED_OFFSET, heldout_constrained
from teamsrl_graph.dataio.records import split_heldout, usable
from teamsrl_graph.evaluation.paired import paired
from teamsrl_graph.policy.model import load_policy
from teamsrl_graph.policy.router import shipped_policy_path

BUDGET, SWEEP, HELD, IFBENCH = 90, 60, 6, 4


def comply(constraints: list[dict]) -> str:
    """An answer built to meet the easier constraint types of `constraints` (it may miss the rest)."""
    kinds = {c["id"].split(":")[1]: c["kwargs"] for c in constraints}
    lines = ["the walk went past the old mill and the river.", "the town was calm and the air was cool."]
    if "existence" in kinds:
        lines.append("it made me think of " + " and ".join(kinds["existence"]["keywords"]) + ".")
    if "number_bullet_lists" in kinds:
        lines += [f"* point {i}" for i in range(kinds["number_bullet_lists"]["num_bullets"])]
    if "number_highlighted_sections" in kinds:
        lines.append(" ".join(f"*part {i}*" for i in range(kinds["number_highlighted_sections"]["num_highlights"])))
    if "number_placeholders" in kinds:
        lines.append(" ".join(f"[place {i}]" for i in range(kinds["number_placeholders"]["num_placeholders"])))
    if "first_word" in kinds:
        lines[0] = f"{kinds['first_word']['first_word']} {lines[0]}"
    if "title" in kinds:
        lines.insert(0, "<<a walk>>")
    if "postscript" in kinds:
        lines.append(f"{kinds['postscript']['postscript_marker']} see you soon.")
    if "end_checker" in kinds:
        lines.append(kinds["end_checker"]["end_phrase"])
    text = "\n".join(lines)
    text = text.upper() if "english_capital" in kinds else text.lower() if "english_lowercase" in kinds else text
    return f'"{text}"' if "quotation" in kinds else text


def args(model, out, *extra) -> list[str]:
    return ["--model", str(model), "--out", str(out), "--budget", str(BUDGET), "--constrained", str(HELD),
            "--ifbench", str(IFBENCH), "--answer-tokens", "8", "--result", "", *extra]


def spies(mp, m, refuse=()) -> dict:
    """Scripted chat models bound to every run's Context; spies on generation, fine-tunes and answers."""
    import teamsrl_graph.running.run as running
    from teamsrl_graph.evolve import steps
    from teamsrl_graph.evolve.resources import bind
    from teamsrl_graph.models.factory import Models

    asked, lock, contexts = {}, threading.Lock(), []  # instruction -> the constraints its answer must meet

    def checked_answer(ctx, instruction, constraints, *a, real=steps.checked_answer, **k):
        with lock:
            asked[instruction] = constraints
        return real(ctx, instruction, constraints, *a, **k)

    def responder(prompt):
        with lock:
            known = [i for i in asked if i in prompt]
        return comply(asked[max(known, key=len)]) if known else "the walk went past the old mill and the river."

    def context_for(router, budget, a, real=m.context_for):
        context = real(router, budget, a)
        bind(context, models=Models(expert=ScriptedChat(reply=default_expert), reviewer=ScriptedChat(reply=default_reviewer),
                                    responder=ScriptedChat(reply=responder)))
        contexts.append(context)
        return context

    mp.setattr(steps, "checked_answer", checked_answer)
    found = {"generate": Spy(running.generate, "generate" in refuse), "answers": Spy(m.answer_sets, "answers" in refuse),
             "fine_tune": Spy(pipeline.fine_tune, "fine_tune" in refuse), "contexts": contexts}
    mp.setattr(m, "context_for", context_for)
    mp.setattr(running, "generate", found["generate"])
    mp.setattr(pipeline, "fine_tune", found["fine_tune"])
    mp.setattr(m, "answer_sets", found["answers"])
    return found


@pytest.fixture(scope="module")
def run(tiny_model, tmp_path_factory):
    """Two sittings: the learned router first, then the rest with the sweep, reusing the first's parts."""
    m, out = script("router_downstream"), tmp_path_factory.mktemp("router_downstream")
    with pytest.MonkeyPatch.context() as mp:
        first = spies(mp, m)
        assert m.main(args(tiny_model, out, "--routers", "policy")) == 0
    with pytest.MonkeyPatch.context() as mp:
        second = spies(mp, m)
        assert m.main(args(tiny_model, out, "--reuse", "--sweep", str(SWEEP))) == 0
    return m, out, json.loads((out / "report.json").read_text()), first, second


HEAD = load_policy(shipped_policy_path()).family is not None  # the shipped policy's: none when trained with the draw
KEYS = [("policy", BUDGET), ("random", BUDGET), ("fixed", BUDGET), ("policy-draw", BUDGET), ("policy", SWEEP)]


def key_of(context) -> tuple:
    """The benchmark's router key a generation ran under: policy-draw is router policy with families="draw"."""
    return ("policy-draw" if (context.router, context.families) == ("policy", "draw") else context.router), context.budget


def test_each_router_builds_its_dataset_with_the_main_jobs_settings(run):
    m, out, report, first, second = run
    made = [key_of(c) for c in first["contexts"] + second["contexts"]]
    assert made == KEYS  # the second sitting left the learned router's dataset alone
    generation, concurrency = pipeline.generation_settings()
    per_router = ("router", "families", "budget")
    for context in first["contexts"] + second["contexts"]:
        settings = {k: v for k, v in vars(context).items() if k in generation and k not in per_router}
        assert settings == {k: v for k, v in generation.items() if k not in per_router}
    assert {c[1]["concurrency"] for c in first["generate"].calls + second["generate"].calls} == {concurrency}
    rows = {(r["router"], r["budget"]): r for r in report["rows"]}
    assert list(rows) == KEYS
    for (router, budget), r in rows.items():
        books = json.loads((out / f"{router}-{budget}" / "generate" / "report.json").read_text())
        assert books["settings"]["router"] == router.removesuffix("-draw") and r["queries"] == books["queries"]["total"] <= budget
        if router in ("policy", "policy-draw"):
            assert books["settings"]["families"] == ("draw" if router == "policy-draw" else "policy")
        assert (r["families"] is None) == (router != "policy" or not HEAD)  # only a family head names families
        assert r["expert_queries"] == books["queries"]["by_role"]["expert"] + books["queries"]["by_role"]["responder"]
        assert r["stops"] == books["stops"] and r["verified"] >= 1


def test_each_dataset_gets_the_main_jobs_fine_tune(run):
    m, out, report, first, second = run
    assert len(first["fine_tune"].calls) == 1 and len(second["fine_tune"].calls) == 4
    for (router, budget), r in zip(KEYS, report["rows"]):
        folder = out / f"{router}-{budget}"
        records = [json.loads(line) for line in (folder / "generate" / "dataset.jsonl").read_text().splitlines()]
        train, _ = split_heldout([x for x in records if usable(x)], pipeline.defaults().heldout, 0)
        card = json.loads((folder / "finetune" / "run_card.json").read_text())
        assert sorted(card["train_ids"] + card["validation_ids"]) == sorted(x["id"] for x in train)
        assert (card["config"]["learning_rate"], card["config"]["epochs"]) == (pipeline.LEARNING_RATE, pipeline.EPOCHS)
        assert card["differential_privacy"] is None and r["trained_on"] == len(card["train_ids"])


def test_the_base_answers_once_and_every_model_is_paired(run):
    m, out, report, first, second = run
    from teamsrl_graph.evaluation.evaluator import ifbench_rows

    names = [a[4] for a, _ in first["answers"].calls + second["answers"].calls]
    assert names == ["base", *(f"{router}-{budget}" for router, budget in KEYS)]
    held, rows = heldout_constrained(HELD, HELDOUT_SEED_OFFSET), ifbench_rows(IFBENCH)
    verdicts = {name: m.verdicts(json.loads((out / name / "answers.json").read_text()), held, rows) for name in names}
    for (router, budget), r in zip(KEYS, report["rows"]):
        for s in ("heldout_constrained", "ifbench"):
            assert r["vs_base"][s] == paired(verdicts["base"][s], verdicts[f"{router}-{budget}"][s])
    for s in ("heldout_constrained", "ifbench"):
        assert report["versus_random"]["policy"][s] == paired(verdicts[f"random-{BUDGET}"][s], verdicts[f"policy-{BUDGET}"][s])
    checks = {c["name"]: c for c in report["comparisons"]["policy"]}
    sweep = checks.pop("fewest queries at which learned reaches random's held-out accuracy")
    assert len(checks) == 4 and all(c["met"] in (True, False) for c in checks.values())
    random_vs_base = report["rows"][KEYS.index(("random", BUDGET))]["vs_base"]["heldout_constrained"]
    # the sweep is measurable only where random's fine-tune beat the base model
    assert (sweep["met"] is not None) == (random_vs_base["finetuned"] > random_vs_base["base"])
    held_check = checks["held-out accuracy at equal queries, learned − random"]
    assert held_check["value"]["difference"] == report["versus_random"]["policy"]["heldout_constrained"]["difference"]
    draw = {c["name"]: c for c in report["comparisons"]["policy-draw"]}
    assert draw["fewest queries at which learned, types by the draw reaches random's held-out accuracy"]["met"] is None
    assert draw["held-out accuracy at equal queries, learned, types by the draw − random"]["value"]["difference"] == (
        report["versus_random"]["policy-draw"]["heldout_constrained"]["difference"])
    for s in ("heldout_constrained", "ifbench"):
        assert report["versus_random"]["policy-draw"][s] == paired(verdicts[f"random-{BUDGET}"][s],
                                                                   verdicts[f"policy-draw-{BUDGET}"][s])


def test_reuse_makes_only_what_is_missing(run, tiny_model):
    m, out, report, _, _ = run
    (out / f"random-{BUDGET}" / "answers.json").unlink()  # as if stopped after random's fine-tune, before its answers
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m, refuse=("generate", "fine_tune"))
        assert m.main(args(tiny_model, out, "--reuse", "--sweep", str(SWEEP))) == 0
    assert [a[4] for a, _ in calls["answers"].calls] == [f"random-{BUDGET}"] and not calls["contexts"]
    again = json.loads((out / "report.json").read_text())
    assert again["rows"] == report["rows"] and again["comparisons"] == report["comparisons"]


def test_reuse_refuses_parts_made_with_other_settings(run, tiny_model, capsys):
    m, out, _, _, _ = run
    assert m.main(args(tiny_model, out, "--reuse", "--answer-tokens", "9")) == 1
    assert "other settings (answer_tokens)" in capsys.readouterr().err


def test_reuse_refuses_a_learned_dataset_another_policy_made(run, tiny_model, capsys):
    m, out, _, _, _ = run
    books = out / f"policy-{BUDGET}" / "generate" / "report.json"
    kept = books.read_text()
    made = json.loads(kept)
    shipped = made["settings"]["policy"]
    assert shipped["file"] == "policy.safetensors" and len(shipped["sha256"]) == 16  # which policy made the part
    made["settings"]["policy"] = {"file": "policy.safetensors", "sha256": "0" * 16}  # as if the shipped policy changed
    books.write_text(json.dumps(made))
    try:
        assert m.main(args(tiny_model, out, "--reuse", "--routers", "policy")) == 1
        assert f"policy-{BUDGET} was made with policy" in capsys.readouterr().err
        assert m.main(args(tiny_model, out, "--reuse", "--routers", "random")) == 0  # the other routers' parts still serve
    finally:
        books.write_text(kept)
