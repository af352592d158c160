"""PIT's improver data, reward, preference collection with fake models, and one real step of each
training stage on a tiny config-built model."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from teamsrl_graph.common import prompts
from teamsrl_graph.running.budget import Budget
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.cli import main
from teamsrl_graph.pit.collect import collect_preferences, fluency
from teamsrl_graph.pit.improver import FAILED_REWARD, gap_reward, rl_rows, sft_rows
from teamsrl_graph.pit.preferences import Preference

PREFS = [
    Preference(prompt=f"Name {n} fruits.", chosen=", ".join(["apple", "pear", "plum", "fig", "kiwi", "lime"][:n]) + ".",
               rejected="I like food.", id=f"p{n}")
    for n in range(1, 7)
]


@pytest.fixture(scope="module")
def improve_template():
    return prompts.load("improve")


def test_sft_rows_turn_rejected_into_chosen(improve_template):
    rows = sft_rows(PREFS[:2], improve_template)
    assert [r["id"] for r in rows] == ["p1", "p2"]
    for row, pref in zip(rows, PREFS):
        *prompt, last = row["messages"]
        assert last == {"role": "assistant", "content": pref.chosen}
        user = [m["content"] for m in prompt if m["role"] == "user"][-1]
        assert pref.prompt in user and pref.rejected in user and pref.chosen not in user


@pytest.mark.parametrize("references", [None, ["a draft", "another draft"]])
def test_rl_rows_keep_what_the_reward_needs(improve_template, references):
    rows = rl_rows(PREFS[:2], improve_template, references)
    expected = references or [p.rejected for p in PREFS[:2]]
    assert [r["reference"] for r in rows] == expected
    assert [r["instruction"] for r in rows] == [p.prompt for p in PREFS[:2]]
    assert all(ref in r["prompt"][-1]["content"] for r, ref in zip(rows, expected))
    assert all(r["prompt"][-1]["role"] == "user" for r in rows)  # the improver writes the whole reply


class LengthGap:
    """A stand-in gap model: longer than the reference is better."""

    def __init__(self):
        self.calls = []

    def score(self, instructions, references, responses):
        self.calls.append((list(instructions), list(references), list(responses)))
        return [float(len(y.split()) - len(r.split())) for r, y in zip(references, responses)]


def test_gap_reward_scores_completions_and_floors_failures():
    gap = LengthGap()
    reward = gap_reward(gap)
    completions = [[{"role": "assistant", "content": "one two three four"}],
                   [{"role": "assistant", "content": "  "}],
                   [{"role": "assistant", "content": "I'm sorry, but I cannot help with that request at all."}]]
    scores = reward(prompts=[None] * 3, completions=completions, instruction=["x"] * 3, reference=["a b"] * 3)
    assert scores[0] == 2.0
    assert scores[1] == -2.0  # empty: its gap (-2) is already below the ceiling
    assert scores[2] == FAILED_REWARD  # a long refusal has a gap of +9 but earns at most -1
    assert gap.calls[0][1] == ["a b"] * 3


def scripted_collection(make_context, budget=None):
    counter, lock = itertools.count(), threading.Lock()

    def responder(prompt):
        with lock:
            n = next(counter)
        return f"good answer number {n}" if n % 3 == 0 else ("" if n % 3 == 1 else f"weak answer number {n}")

    def reviewer(prompt):
        return "Yes" if "good answer" in prompt else "No"

    return make_context(responder=responder, reviewer=reviewer, budget=budget)


RECORDS = [{"id": f"r{i}", "instruction": f"Explain topic {i}.", "input": ""} for i in range(4)]
REVIEWER_ONLY = {"reviewer": 1.0, "relevance": 0.0, "fluency": 0.0}


def test_collect_ranks_answers_with_the_reviewer(make_context):
    ctx = scripted_collection(make_context, Budget())
    collected = collect_preferences(RECORDS, ctx, samples=3, concurrency=1, progress=False, weights=REVIEWER_ONLY)
    assert len(collected.preferences) == 4
    for pref in collected.preferences:
        assert pref.chosen.startswith("good answer") and pref.rejected.startswith("weak answer")
        assert pref.margin == 1.0
    # 3 samples each; the empty one is judged by the free rule, so 2 reviewer calls per instruction
    assert resources(ctx).budget.summary()["queries"]["by_node"] == {"sample": 12, "rate": 8}
    assert collected.queries == 20


def test_collect_never_exceeds_the_budget(make_context):
    ctx = scripted_collection(make_context, Budget(13))
    collected = collect_preferences(RECORDS, ctx, samples=3, concurrency=4, progress=False, weights=REVIEWER_ONLY)
    assert resources(ctx).budget.queries <= 13
    assert collected.skipped_budget >= 2  # 6 calls reserved per instruction; one given back each
    assert collected.summary()["pairs"] + collected.skipped_budget + collected.no_margin == len(RECORDS)


@pytest.mark.parametrize("text, expected", [
    ("Paris is the capital of France and its largest city.", 1.0),
    ("the cat sat " * 10, 3 / 28),  # a loop: 3 distinct trigrams out of 28
    ("Yes.", 1.0),
])
def test_fluency_is_the_share_of_distinct_trigrams(text, expected):
    assert fluency(text) == pytest.approx(expected)


def test_free_parts_rank_without_reviewer_calls(make_context):
    """With the reviewer's weight at 0, relevance (real MiniLM) and fluency alone rank the samples."""
    answers = iter(["Bake at 180 C for 20 minutes after mixing flour, eggs, sugar and butter into a batter.",
                    "The stock market closed higher today as bank shares rallied.",
                    "cake cake cake cake cake cake cake cake cake cake"])
    ctx = make_context(responder=lambda prompt: next(answers), budget=Budget())
    record = {"id": "c1", "instruction": "How do I bake a simple sponge cake?", "input": ""}
    collected = collect_preferences([record], ctx, samples=3, concurrency=1, progress=False,
                                    weights={"reviewer": 0.0, "relevance": 1.0, "fluency": 1.0})
    [pref] = collected.preferences
    assert pref.chosen.startswith("Bake at 180") and pref.rejected != pref.chosen
    assert resources(ctx).budget.summary()["queries"]["by_node"] == {"sample": 3}  # no "rate" calls


@pytest.mark.parametrize("weights", [{"reviewer": -1.0}, {"reviewer": 0.0, "relevance": 0.0, "fluency": 0.0},
                                     {"length": 1.0}])
def test_bad_rating_weights_are_input_errors(make_context, weights):
    from teamsrl_graph.common.errors import InputError

    with pytest.raises(InputError, match="weights"):
        collect_preferences(RECORDS, make_context(), weights=weights, progress=False)


def test_tiny_model_runs_every_stage_and_saves(tiny_model, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from teamsrl_graph.models import local
    from teamsrl_graph.pit.config import PITConfig
    from teamsrl_graph.pit.gap import GapModel, GapSettings
    from teamsrl_graph.pit.trainer import PITTrainer

    config = PITConfig(output_dir=str(tmp_path / "pit"), base=str(tiny_model), rl_steps=(1, 1), sft_epochs=1,
                       batch_size=2, num_generations=2, prompts_per_step=1, max_completion_length=8,
                       reference_tokens=8, gap=GapSettings(epochs=20))
    trainer = PITTrainer(config, PREFS)
    history = trainer.train()
    assert len(history["sft"]) >= 1 and all(h["loss"] > 0 for h in history["sft"])
    assert [len(stage) for stage in history["rl"]] == [1, 1]
    assert history["gap"]["heldout"]["pairs"] == len(trainer.heldout_pairs) >= 1
    out = trainer.save()
    for name in ("gap", "improver", "run_card.json", "gap_loss.png", "sft_loss.png", "reward.png"):
        assert (out / name).exists(), name
    card = json.loads((out / "run_card.json").read_text())
    assert card["pairs"] == {"train": 5, "heldout": 1} and set(card["train_ids"]) <= {p.id for p in PREFS}
    loaded = GapModel.load(out / "gap").score(["x", "y"], ["a", "b c"], ["a b", "b"])  # loads and scores as trained
    assert loaded == pytest.approx(trainer.gap.score(["x", "y"], ["a", "b c"], ["a b", "b"]), abs=1e-5) and len(loaded) == 2

    # the adapter folder is a model folder for the local loader: base + adapter, merged
    merged, tokenizer = local.load(out / "improver", dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(base, out / "improver").eval()
    ids = torch.tensor([tokenizer("Name two fruits.")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, peft_model(ids).logits, atol=1e-4)


def test_pit_train_cli_rejects_bad_preferences(tmp_path, capsys):
    bad = tmp_path / "prefs.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n" + json.dumps({"prompt": "p2", "chosen": "a"}) + "\n")
    assert main(["pit", "train", "--preferences", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2" in err and "rejected" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, named", [
    ("--samples", "1", "field '--samples'"),  # one answer makes no pair, even beside the record's own response
    ("--temperature", "-0.5", "field '--temperature'"),
    ("--min-margin", "-1", "field '--min-margin'"),
    ("--fluency-weight", "-1", "rating weights must be non-negative"),
])
def test_pit_prefs_refuses_settings_no_collection_can_use_before_any_model_loads(option, value, named, tmp_path,
                                                                                 capsys, monkeypatch):
    from teamsrl_graph.models import local

    monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("a model was loaded"))
    data = tmp_path / "dataset.jsonl"
    data.write_text(json.dumps({"instruction": "Say hi.", "response": "Hi."}) + "\n")
    assert main(["pit", "prefs", "--data", str(data), "--out", str(tmp_path / "p.jsonl"), option, value]) == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()


def test_pit_prefs_cli_checks_options(tmp_path, capsys):
    data = tmp_path / "dataset.jsonl"
    data.write_text(json.dumps({"instruction": "Say hi.", "response": "Hi."}) + "\n")
    assert main(["pit", "prefs", "--data", str(data), "--out", str(tmp_path / "p.jsonl"), "--samples", "0"]) == 2
    assert "--samples" in capsys.readouterr().err
    (tmp_path / "p.jsonl").write_text("")
    assert main(["pit", "prefs", "--data", str(data), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("steps", [0, -3, 2.5, "7"])
def test_pit_config_refuses_sft_steps_that_are_not_a_positive_whole_number(steps):
    from teamsrl_graph.common.errors import InputError
    from teamsrl_graph.pit.config import PITConfig

    with pytest.raises(InputError, match="at least 1") as error:
        PITConfig(sft_steps=steps)
    assert error.value.field == "sft_steps"


def test_sft_steps_are_the_optimizer_steps_taken(tiny_model, tmp_path):
    """7 steps over 25 batches a pass: as epochs (7 / 25 passes) trl would take 8."""
    import math

    from teamsrl_graph.pit.config import PITConfig
    from teamsrl_graph.pit.trainer import PITTrainer

    prefs = [Preference(prompt=f"Count to {n}.", chosen=" ".join(map(str, range(1, n + 2))), rejected="No.", id=f"c{n}")
             for n in range(31)]
    config = PITConfig(output_dir=str(tmp_path / "pit"), base=str(tiny_model), sft_steps=7, batch_size=1)
    trainer = PITTrainer(config, prefs)
    assert len(trainer.train_pairs) == 25 and math.ceil(7 / 25 * 25) == 8  # the case epochs get wrong
    trainer.train_sft()
    assert trainer.history["sft_steps"] == 7
