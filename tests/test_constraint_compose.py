"""compose / assemble: where statements go and how they join the task; sample_constraints and the
held-out evaluation set built from them."""

import json
import random
import re

import pytest

from teamsrl_graph.constraints import (
    CONFLICTS, TYPES, TypeDraw, compose, heldout_instructions, phrasings, sample_constraints, stated, training_instruction,
    validate, verify,
)
from teamsrl_graph.constraints.compose import assemble, lower_first
from teamsrl_graph.dataio.seeds import default_seeds_path

TASKS = [json.loads(line)["instruction"] for line in default_seeds_path().read_text().splitlines() if line.strip()]
TASKS += ["Summarize the text below:\nTides rise and fall twice a day", "list three rivers", "Compare cats and dogs..."]


@pytest.mark.parametrize(
    "task, parts, expected",
    [
        ("Describe tides.", [("Use lowercase.", "before", "")], "Use lowercase. Describe tides."),
        ("Describe tides.", [("Use lowercase.", "after", "")], "Describe tides. Use lowercase."),
        ("Describe tides", [("Use lowercase", "after", "")], "Describe tides. Use lowercase."),
        ("Describe tides.", [("Use lowercase.", "woven", ", and ")], "Describe tides, and use lowercase."),
        ("Describe tides.", [("Your reply should be short.", "woven", " — ")], "Describe tides — your reply should be short."),
        ("Describe tides.", [("I need 3 sentences.", "woven", " — ")], "Describe tides — I need 3 sentences."),
        ("Describe tides.", [("JSON only, please.", "woven", " — ")], "Describe tides — JSON only, please."),
        ("  Describe tides.  ", [("A.", "before", ""), ("B.", "woven", ", and "), ("C.", "after", ""), ("D.", "before", "")],
         "A. D. Describe tides, and B. C."),
        ("Summarize this:\nSome text.", [("Use lowercase.", "before", ""), ("End with Bye.", "after", "")],
         "Use lowercase.\n\nSummarize this:\nSome text.\n\nEnd with Bye."),
        ("Why is the sky blue?", [("Use lowercase.", "after", "")], "Why is the sky blue? Use lowercase."),
    ],
)
def test_assemble_places_and_joins(task, parts, expected):
    assert assemble(task, parts) == expected


@pytest.mark.parametrize(
    "task, parts",
    [
        ("Why is the sky blue?", [("Use lowercase.", "woven", ", and ")]),
        ("Describe tides.", [("A.", "woven", ", and "), ("B.", "woven", " — ")]),
        ("Summarize this:\nSome text.", [("A.", "woven", " — ")]),
    ],
)
def test_assemble_refuses_what_cannot_be_woven(task, parts):
    with pytest.raises(ValueError, match="woven"):
        assemble(task, parts)


@pytest.mark.parametrize("text, expected", [("Please use it.", "please use it."), ("I need it.", "I need it."),
                                            ("JSON only.", "JSON only."), ('"Yes" first.', '"Yes" first.')])
def test_lower_first(text, expected):
    assert lower_first(text) == expected


def composed(split, count=400):
    for index in range(count):
        rng = random.Random(f"compose:{split}:{index}")
        task = TASKS[index % len(TASKS)]
        constraints = sample_constraints(rng, task, 3)
        yield task, constraints, compose(task, constraints, rng, split)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_composed_instructions_state_every_constraint_and_read_cleanly(split):
    woven = 0
    for task, constraints, text in composed(split):
        assert all(stated(text, c) for c in constraints), (text, constraints)
        assert not re.search(r"\.\.(?!\.)|\s[,.;:]\s|,,|  |\?,|\?\.", text.replace("Compare cats and dogs...", "Compare.")), text
        assert not re.search(r"[.!?] [a-z]", text.replace("e.g. ", "")), text  # sentences start with a capital
        woven += ", and " in text or " — " in text
        if task.endswith("."):
            assert task[:-1] in text
    assert woven > 40  # weaving happens, not just before/after


def test_compose_is_deterministic_for_the_same_rng_state():
    constraints = [{"id": "punctuation:no_comma", "kwargs": {}}, {"id": "detectable_format:title", "kwargs": {}}]
    outputs = {compose("Describe tides.", constraints, random.Random(7)) for _ in range(3)}
    assert len(outputs) == 1
    varied = {compose("Describe tides.", constraints, random.Random(seed)) for seed in range(30)}
    assert len(varied) > 10


def test_repeat_prompt_keeps_the_task_first_and_goes_last():
    task = "Describe tides."
    constraints = [{"id": "combination:repeat_prompt", "kwargs": {"prompt_to_repeat": task}},
                   {"id": "length_constraints:number_words", "kwargs": {"relation": "at most", "num_words": 200}}]
    for seed in range(30):
        text = compose(task, constraints, random.Random(seed))
        assert text.startswith(task + " ")
        last = text.split(". ")[-1]
        assert any(stated(last, constraints[0]) for _ in [0]) and "this sentence" in last
        assert verify(text + "\nTides come from the moon.", [constraints[0]])["strict"]
    with pytest.raises(ValueError, match="prompt_to_repeat"):
        compose("Describe waves.", constraints, random.Random(0))


def test_training_instruction_uses_training_phrasings_only():
    constraint = {"id": "punctuation:no_comma", "kwargs": {}}
    heldout = {p({}).rstrip(".") for p in phrasings(constraint["id"], "heldout")}
    train = {p({}).rstrip(".") for p in phrasings(constraint["id"], "train")}
    seen = set()
    for seed in range(80):
        text = training_instruction("Describe tides.", [constraint], random.Random(seed))
        assert not any(h.lower() in text.lower() for h in heldout)
        seen |= {t for t in train if t.lower()[1:] in text.lower()}
    assert seen == train  # every training phrasing gets used


def test_sample_constraints_draws_one_to_count_compatible_constraints():
    sizes, types = set(), set()
    for seed in range(300):
        found = sample_constraints(random.Random(seed), "Describe tides.", 3)
        validate(found)
        ids = [c["id"] for c in found]
        assert 1 <= len(ids) <= 3 and len(set(ids)) == len(ids)
        assert not any(b in CONFLICTS[a] for a in ids for b in ids)
        sizes.add(len(ids))
        types |= set(ids)
    assert sizes == {1, 2, 3} and types == set(TYPES)
    assert sample_constraints(random.Random(5), "x", 3) == sample_constraints(random.Random(5), "x", 3)
    with pytest.raises(ValueError):
        sample_constraints(random.Random(0), "x", 0)


def test_sample_constraints_takes_its_type_choice_from_a_draw():
    class Always:
        def pick(self, rng, allowed, preferred=None):
            return "detectable_format:title" if "detectable_format:title" in allowed else sorted(allowed)[0]

    for seed in range(20):
        found = sample_constraints(random.Random(seed), "Describe tides.", 2, draw=Always())
        assert found[0]["id"] == "detectable_format:title"
    assert sample_constraints(random.Random(1), "", 1, draw=TypeDraw())  # a real draw works too
    # repeat_prompt cannot be drawn without an instruction: the draw's choice is skipped, not returned
    for seed in range(20):
        found = sample_constraints(random.Random(seed), "", 1, draw=type("R", (), {"pick": lambda s, r, a, p=None: "combination:repeat_prompt" if "combination:repeat_prompt" in a else a[0]})())
        assert found and found[0]["id"] != "combination:repeat_prompt"


@pytest.mark.parametrize("weights, sizes", [([1, 0, 0], {1}), ([0, 1, 0], {2}), ([0, 0, 1], {3}), ([1, 1, 0], {1, 2})])
def test_sample_constraints_takes_how_many_from_weights(weights, sizes):
    drawn = {len(sample_constraints(random.Random(seed), "Describe tides.", 3, weights=weights)) for seed in range(60)}
    assert drawn == sizes


@pytest.mark.parametrize("weights", [[1, 1], [1, 1, 1, 1]])
def test_sample_constraints_refuses_weights_for_other_counts(weights):
    with pytest.raises(ValueError, match="3 weights"):
        sample_constraints(random.Random(0), "x", 3, weights=weights)


def test_heldout_instructions_take_a_type_draw_and_count_weights():
    class Always:
        def pick(self, rng, allowed, preferred=None):
            return "detectable_format:title" if "detectable_format:title" in allowed else sorted(allowed)[0]

    items = heldout_instructions(TASKS, 40, seed=3, split="train", draw=Always(), weights=[1, 0, 0])
    assert {c["id"] for item in items for c in item["constraints"]} == {"detectable_format:title"}
    assert items == heldout_instructions(TASKS, 40, seed=3, split="train", draw=Always(), weights=[1, 0, 0])
    assert heldout_instructions(TASKS, 40, seed=3, split="train") != items  # the uniform draw is the default


def test_heldout_instructions_use_no_training_sentence():
    items = heldout_instructions(TASKS, 150, seed=3)
    assert len(items) == 150 and items == heldout_instructions(TASKS, 150, seed=3)
    assert items != heldout_instructions(TASKS, 150, seed=4)
    for item in items:
        assert 1 <= len(item["constraints"]) <= 3
        prompt = " ".join(item["prompt"].lower().split())
        for constraint in item["constraints"]:
            assert stated(item["prompt"], constraint)
            for variant in phrasings(constraint["id"], "train"):
                sentence = variant(constraint["kwargs"]).lower().rstrip(".")
                assert sentence[1:] not in prompt, (sentence, prompt)
    assert {c["id"] for item in items for c in item["constraints"]} == set(TYPES)
    with pytest.raises(ValueError):
        heldout_instructions(["  "], 3, 0)
