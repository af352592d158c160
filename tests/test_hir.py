"""HIR: task verifiers, hindsight relabeling, the contrastive loss, and one real round on a tiny model."""

import json
import math
import random

import pytest
import torch

from teamsrl_graph import cli
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.constraints import compatible, phrase, verify
from teamsrl_graph.hir.config import HIRConfig
from teamsrl_graph.hir.constrained import (Constrained, ConstrainedTask, base_task, constrained_instructions,
                                           from_items, from_records, instruction, relabel_constrained)
from teamsrl_graph.hir.relabel import Pair, relabel, relabel_record, relabel_records, wrong
from teamsrl_graph.hir.tasks import Instance, make_task
from teamsrl_graph.hir.trainer import HIRTrainer, balanced_batches, contrastive_loss, sequence_logprobs
from teamsrl_graph.common.lora import LoraSettings


# -- tasks and verifiers -------------------------------------------------------------------------

@pytest.mark.parametrize("output, ok", [
    ("apple banana cherry", True),
    ("  Apple,\n banana,   CHERRY. ", True),  # whitespace, case and punctuation do not matter
    ("apple, banana and cherry", False),  # an extra word
    ("banana apple cherry", False),
    ("apple banana", False),
    ("", False),
])
def test_word_sorting_verifier(output, ok):
    instance = Instance("Sort ...", "apple banana cherry")
    assert make_task("word_sorting", 3).verify(instance, output) is ok


@pytest.mark.parametrize("output, ok", [
    ("7", True), (" 7.\n", True), ("Seven!", True), ("There are 7 fruits.", True), ("3 + 4 = 7", True),
    ("7 or 8", False), ("seventeen", False), ("77", False), ("no idea", False), ("", False),
])
def test_number_verifiers(output, ok):
    instance = Instance("What is 3 + 4?", "7")
    assert make_task("arithmetic", 1).verify(instance, output) is ok
    assert make_task("object_counting", 2).verify(instance, output) is ok


def test_number_verifier_reads_thousands_separators():
    assert make_task("arithmetic", 1).verify(Instance("", "1000"), "It is 1,000.")


@pytest.mark.parametrize("name", ["word_sorting", "object_counting", "arithmetic"])
def test_instances_are_seeded_distinct_and_verify_their_answer(name):
    task = make_task(name, 3)
    first = task.instances(20, seed=1)
    assert first == task.instances(20, seed=1)
    assert first != task.instances(20, seed=2)
    assert len({i.prompt for i in first}) == 20
    held = task.instances(10, seed=2, exclude={i.prompt for i in first})
    assert not {i.prompt for i in held} & {i.prompt for i in first}
    assert all(task.verify(i, i.answer) for i in first)


def test_difficulty_knob_and_bad_task():
    sort = make_task("word_sorting", 5).instances(1, seed=0)[0]
    assert len(sort.answer.split()) == 5
    assert make_task("arithmetic", 3).instances(1, seed=0)[0].prompt.count("+") == 3
    with pytest.raises(InputError, match="unknown task"):
        make_task("chess", 1)
    with pytest.raises(InputError, match="difficulty"):
        make_task("arithmetic", 0)


def test_correct_prefix_of_a_half_sorted_list():
    task, instance = make_task("word_sorting", 3), Instance("", "apple banana cherry")
    assert task.correct_prefix(instance, "Apple, banana, grape") == "Apple, banana"
    assert task.correct_prefix(instance, "cherry apple") == ""


# -- relabeling ---------------------------------------------------------------------------------

def test_relabel_fixed_samples():
    pairs = relabel("Q", ["good", "bad"], [True, False])
    assert pairs == [Pair("Q", "good", wrong("Q")), Pair(wrong("Q"), "bad", "Q", hindsight=True)]
    assert wrong("Q") == "Q\n\nGive a wrong answer."
    assert relabel("Q", ["good", "bad"], [True, False], keep_wrong=False) == [Pair("Q", "good", wrong("Q"))]
    custom = relabel("Q", ["bad"], [False], template="Answer {instruction} incorrectly")
    assert custom == [Pair("Answer Q incorrectly", "bad", "Q", hindsight=True)]


def test_subspan_relabeling_adds_the_correct_start_of_a_wrong_output():
    pairs = relabel("Q", ["a b x", "a b c", "z"], [False, True, False], prefixes=["a b", "", ""])
    assert pairs == [Pair(wrong("Q"), "a b x", "Q", hindsight=True), Pair("Q", "a b", None, complete=False),
                     Pair("Q", "a b c", wrong("Q")), Pair(wrong("Q"), "z", "Q", hindsight=True)]


def test_relabel_graph_records_by_the_reviewer_verdict():
    path = [{"op": "deepen", "candidate": "Explain tides in depth.", "accepted": False, "reason": "", "score": 0.1},
            {"op": "add_constraints", "candidate": "Explain tides in 3 lines.", "accepted": True, "reason": "", "score": 0.9}]
    record = {"id": "1", "seed": "s", "input": "for kids", "instruction": "Explain tides in 3 lines.",
              "response": " Moon pulls water. ", "response_ok": True, "path": path, "queries": 3}
    prompt = "Explain tides in 3 lines.\n\nfor kids"
    assert relabel_record(record) == [Pair(prompt, "Moon pulls water.", "Explain tides in depth.\n\nfor kids")]
    assert relabel_record({**record, "path": []}) == [Pair(prompt, "Moon pulls water.", wrong(prompt))]
    assert relabel_record({**record, "response_ok": False}) == [Pair(wrong(prompt), "Moon pulls water.", prompt,
                                                                     hindsight=True)]
    assert relabel_record({**record, "response": "  "}) == []
    with pytest.raises(InputError, match="data.jsonl:2 field 'response'"):
        relabel_records([record, {"instruction": "x"}], "data.jsonl")


# -- relabeling by verifiable constraints -------------------------------------------------------

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
RAIN = {"id": "keywords:existence", "kwargs": {"keywords": ["rain"]}}
WATER = Constrained("Describe the water cycle.", (NO_COMMA, LOWER, RAIN))
FULL = ("Describe the water cycle. Write the reply without any commas. Put every letter of your reply in "
        "lowercase. Work the word 'rain' into your reply.")


def test_constrained_instruction_is_the_task_and_each_registry_phrasing():
    assert WATER.prompt == FULL
    assert instruction("Describe the water cycle.", []) == "Describe the water cycle."


@pytest.mark.parametrize("output, expected", [
    # all three kept: a positive of the original instruction, nothing it fails
    ("water rises from the sea and falls again as rain.", Pair(FULL, "water rises from the sea and falls again as rain.", None)),
    # no comma and lowercase, but no 'rain'
    ("water rises and falls as snow.", Pair("Describe the water cycle. Write the reply without any commas. "
                                            "Put every letter of your reply in lowercase.",
                                            "water rises and falls as snow.", FULL, hindsight=True)),
    # only 'rain' (a comma and capitals)
    ("Water rises, then it falls as rain.", Pair("Describe the water cycle. Work the word 'rain' into your reply.",
                                                 "Water rises, then it falls as rain.", FULL, hindsight=True)),
    # none: a positive of the bare task
    ("Water rises, then it falls as snow.", Pair("Describe the water cycle.", "Water rises, then it falls as snow.",
                                                 FULL, hindsight=True)),
])
def test_constraint_relabeling_of_hand_made_outputs(output, expected):
    assert relabel_constrained(WATER, [output]) == [expected]


def test_constraint_relabeling_skips_unusable_outputs_and_can_drop_partial_ones():
    outputs = ["", "   ", "water falls as rain.", "Water falls, as snow."]
    assert relabel_constrained(WATER, outputs) == [Pair(FULL, "water falls as rain.", None),
                                                   Pair("Describe the water cycle.", "Water falls, as snow.", FULL,
                                                        hindsight=True)]
    assert relabel_constrained(WATER, outputs, keep_partial=False) == [Pair(FULL, "water falls as rain.", None)]


def test_composed_items_keep_their_wording_and_relabel_in_the_registry_phrasing():
    """An item composed in training wordings is asked as composed; a partly compliant output becomes a
    positive of the task with the constraints it meets, the composed instruction its negative."""
    from teamsrl_graph.commands.pipeline import heldout_constrained

    items = heldout_constrained(40, 3, tasks="seeds", split="train")
    composed = from_items(items)
    assert [c.prompt for c in composed] == [i["prompt"] for i in items]
    assert [c.task for c in composed] == [i["task"] for i in items]
    item = next(c for c in composed if c.constraints[0]["id"] == "punctuation:no_comma" and len(c.constraints) > 1)
    [pair] = relabel_constrained(item, ["A reply, with a comma and Capitals."])
    assert pair.negative == item.prompt != pair.instruction and pair.hindsight
    kept = [c for c in item.constraints if verify("A reply, with a comma and Capitals.", [c])["strict"]]
    assert pair.instruction == instruction(item.task, kept)


def test_constrained_instructions_are_deterministic_and_compatible():
    tasks = ["Describe the water cycle.", "Write a haiku about autumn leaves.", "Explain why the sky is blue."]
    first = constrained_instructions(tasks, seed=0, per_instruction=2)
    assert first == constrained_instructions(tasks, seed=0, per_instruction=2)
    assert first != constrained_instructions(tasks, seed=1, per_instruction=2)
    for item, task in zip(first, tasks):
        assert item.task == task and len(item.constraints) == 2
        assert item.prompt == " ".join([task, *(phrase(c) for c in item.constraints)])
        assert compatible(item.constraints[1]["id"], [item.constraints[0]])


def test_base_task_of_records():
    path = [{"op": "deepen", "candidate": "Explain tides to a child.", "accepted": True},
            {"op": "breadth", "candidate": "Explain volcanoes.", "accepted": False},
            {"op": "add_constraints", "candidate": "Explain tides to a child without commas.", "accepted": True,
             "constraint": NO_COMMA},
            {"op": "deepen", "candidate": "Explain tides and waves to a child without commas.", "accepted": True}]
    record = {"seed": "Explain tides.", "instruction": path[-1]["candidate"], "constraints": [NO_COMMA], "path": path}
    assert base_task(record) == "Explain tides to a child."
    assert base_task({**record, "path": path[2:]}) == "Explain tides."
    hand = {"instruction": "Explain tides. Write the reply without any commas. Keep it short!", "constraints": [NO_COMMA]}
    assert base_task(hand) == "Explain tides. Keep it short!"


def test_constrained_records_and_their_errors():
    good = {"instruction": FULL, "constraints": [NO_COMMA, LOWER, RAIN]}
    plain = {"instruction": "Say hi.", "constraints": []}
    assert from_records([plain, good]) == [WATER]
    assert from_records([{**good, "input": "for kids"}])[0].task == "Describe the water cycle.\n\nfor kids"
    with pytest.raises(InputError, match="data.jsonl:2 field 'constraints\\[0\\].id'"):
        from_records([good, {"instruction": "x", "constraints": [{"id": "nope", "kwargs": {}}]}], "data.jsonl")
    with pytest.raises(InputError, match="no record carries constraints"):
        from_records([plain], "data.jsonl")
    with pytest.raises(InputError, match="data.jsonl:1 field 'instruction'"):
        from_records([{"instruction": "Write the reply without any commas.", "constraints": [NO_COMMA]}], "data.jsonl")


def test_balanced_batches_hold_both_kinds_equally():
    own = [Pair(f"q{i}", "a", None) for i in range(7)]
    relabeled = [Pair(f"r{i}", "b", "q", hindsight=True) for i in range(2)]
    draw = balanced_batches(own + relabeled, 4, random.Random(0))
    for _ in range(5):
        batch = next(draw)
        assert len(batch) == 4 and sum(p.hindsight for p in batch) == 2
    assert all(len(next(balanced_batches(own, 4, random.Random(0)))) == 4 for _ in range(2))


# -- loss ---------------------------------------------------------------------------------------

def test_contrastive_loss_matches_a_hand_computed_value():
    # logits that are log-probabilities already: p(y|pos) = 0.5 * 0.6 = 0.3, p(y|neg) = 0.1 * 0.5 = 0.05
    pos = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.2, 0.6, 0.2]]]))
    neg = torch.log(torch.tensor([[[0.1, 0.6, 0.3], [0.25, 0.5, 0.25]]]))
    labels = torch.tensor([[0, 1]])
    logp_pos, logp_neg = sequence_logprobs(pos, labels), sequence_logprobs(neg, labels)
    assert logp_pos.item() == pytest.approx(math.log(0.3))
    loss = contrastive_loss(logp_pos, logp_neg)
    assert loss.item() == pytest.approx(-math.log(0.3 / (0.3 + 0.05)))  # = log(7/6)


def test_sequence_logprobs_skip_ignored_positions():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]]))
    assert sequence_logprobs(logits, torch.tensor([[-100, 0, 1]])).item() == pytest.approx(math.log(0.9 * 0.8))


# -- one real round on a tiny model ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from teamsrl_graph.models.local import converted_path

    return AutoTokenizer.from_pretrained(converted_path())


@pytest.fixture
def tiny(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return LlamaForCausalLM(config), tokenizer


def test_one_round_changes_the_adapter_and_keeps_base_weights(tiny, tmp_path):
    from peft import PeftModel

    model, tokenizer = tiny
    base = {k: v.clone() for k, v in model.state_dict().items()}
    config = HIRConfig(task="object_counting", difficulty=2, rounds=1, prompts_per_round=2, samples=2,
                       eval_instances=2, steps_per_round=2, batch_size=2, learning_rate=1e-2, subspan=True,
                       lora=LoraSettings(r=4, alpha=8, dropout=0.0))
    trainer = HIRTrainer(config, model, tokenizer)
    history = trainer.train()
    assert [e["round"] for e in history] == [0, 1]
    assert history[1]["pairs"] == 4 and {"ce", "contrastive", "entropy", "accuracy"} <= history[1].keys()
    lora_b = [v for k, v in trainer.model.state_dict().items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero
    out = trainer.save(tmp_path / "run")
    assert (out / "adapter" / "adapter_model.safetensors").is_file() and (out / "accuracy.png").is_file()
    assert [json.loads(line)["round"] for line in (out / "log.jsonl").read_text().splitlines()] == [0, 1]
    base_model = trainer.model.unload()  # the base model without the adapter layers
    assert all(torch.equal(base[k], v) for k, v in base_model.state_dict().items())
    reloaded = PeftModel.from_pretrained(base_model, out / "adapter")
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in reloaded.state_dict().items())


def test_graph_records_train_and_report_preference_accuracy(tiny, tmp_path):
    model, tokenizer = tiny
    records = [{"instruction": "Say hi.", "input": "", "response": "Hi!", "response_ok": True, "path": []},
               {"instruction": "Name a color.", "input": "", "response": "Seven", "response_ok": False}]
    config = HIRConfig(rounds=1, steps_per_round=1, batch_size=2, lora=LoraSettings(r=2, alpha=4, dropout=0.0))
    trainer = HIRTrainer(config, model, tokenizer, pairs=relabel_records(records))
    history = trainer.train()
    assert history[-1]["pairs"] == 2 and history[-1]["accuracy"] in (0.0, 0.5, 1.0)  # two scored pairs
    # a known answer: an output is never likelier under an instruction than under the same instruction
    same = HIRTrainer(config, model, tokenizer, pairs=[Pair(p.instruction, p.output, p.instruction) for p in trainer.pairs])
    assert same.accuracy() == 0.0


def test_cli_reports_bad_records_in_one_line(tmp_path, capsys):
    data = tmp_path / "dataset.jsonl"
    data.write_text('{"instruction": "x", "response": "y", "response_ok": true}\nnot json\n')
    assert cli.main(["hir", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert f"{data}:2" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_constrained_task_round_on_a_tiny_model(tiny, tmp_path):
    model, tokenizer = tiny
    other = Constrained("Name a fruit.", (LOWER,))
    task = ConstrainedTask([WATER, other], [Constrained("Name a tree.", (NO_COMMA,))], max_new_tokens=8)
    config = HIRConfig(rounds=1, prompts_per_round=2, samples=2, eval_instances=5, steps_per_round=1, batch_size=2,
                       lora=LoraSettings(r=2, alpha=4, dropout=0.0))
    trainer = HIRTrainer(config, model, tokenizer, task=task)
    assert [i.prompt for i in trainer.eval_instances] == ["Name a tree. Write the reply without any commas."]
    assert sorted(i.task for i in trainer.train_instances) == ["Describe the water cycle.", "Name a fruit."]
    pairs, accepted = trainer.relabel([WATER, other], [["water falls as rain.", "Snow, ice."], ["Apple.", "kiwi"]])
    assert accepted == 0.5
    assert [(p.instruction, p.hindsight) for p in pairs] == [
        (FULL, False), ("Describe the water cycle.", True),
        ("Name a fruit.", True), ("Name a fruit. Put every letter of your reply in lowercase.", False)]
    history = trainer.train()
    assert [e["round"] for e in history] == [0, 1] and history[0]["accuracy"] in (0.0, 1.0)


def test_cli_data_with_constraints_becomes_a_constrained_task(tmp_path):
    from teamsrl_graph.commands.hir import training_data

    data = tmp_path / "dataset.jsonl"
    rows = [{"instruction": f"Describe topic {i}. Write the reply without any commas.", "constraints": [NO_COMMA]}
            for i in range(5)] + [{"instruction": "Say hi.", "constraints": []}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task, pairs = training_data(str(data), HIRConfig(heldout_fraction=0.2))
    assert pairs is None and isinstance(task, ConstrainedTask)
    assert len(task.train) == 4 and len(task.heldout) == 1
    assert {i.task for i in task.train + task.heldout} == {f"Describe topic {i}." for i in range(5)}
    data.write_text(json.dumps(rows[0]) + "\n")
    with pytest.raises(InputError, match="at least 2"):
        training_data(str(data), HIRConfig())
