"""The main job's parts that need no model: its held-out constrained instructions and its counts."""

import pytest
from conftest import says_only

from teamsrl_graph.cli import build_parser
from teamsrl_graph.commands.pipeline import HELDOUT_SEED_OFFSET, comparison, heldout_constrained, validation_constrained
from teamsrl_graph.constraints import stated
from teamsrl_graph.dataio.records import verified
from teamsrl_graph.dataio.seeds import load_seeds, shipped_tasks_path
from teamsrl_graph.running.report import compliance, per_verified


@pytest.fixture(scope="module")
def items():
    return heldout_constrained(200, HELDOUT_SEED_OFFSET)


def test_heldout_instructions_come_from_tasks_never_trained_on(items):
    training = {s.instruction for s in load_seeds(shipped_tasks_path("seeds"))}
    heldout = [s.instruction for s in load_seeds(shipped_tasks_path("heldout_tasks"))]
    assert len(items) == 200 and len({i["prompt"] for i in items}) == 200
    for item in items:
        assert 1 <= len(item["constraints"]) <= 3 and all(stated(item["prompt"], c) for c in item["constraints"])
        assert not any(t in item["prompt"] for t in training if len(t) > 25)
    used = sum(any(t.rstrip(".?!")[1:] in i["prompt"] for t in heldout) for i in items)
    assert used >= 190  # the task inside each item is a held-out one (a woven task may be reworded at its edge)


def test_heldout_instructions_use_heldout_phrasings_only(items):
    assert all(says_only(item["prompt"], c, "heldout") for item in items for c in item["constraints"])


def test_heldout_instructions_are_reproducible_and_depend_on_the_seed(items):
    assert heldout_constrained(200, HELDOUT_SEED_OFFSET) == items
    assert heldout_constrained(200, HELDOUT_SEED_OFFSET + 1) != items


@pytest.mark.parametrize("tasks, split", [("heldout_tasks", "heldout"), ("validation_tasks", "train"), ("seeds", "train")])
def test_a_task_keeps_the_input_it_works_on(tasks, split):
    from teamsrl_graph.constraints import heldout_instructions

    shipped = load_seeds(shipped_tasks_path(tasks))
    inputs = {s.instruction: s.input for s in shipped if s.input.strip()}
    n = 2 * len(shipped)  # every task, twice
    items = heldout_constrained(n, 5, tasks=tasks, split=split)
    plain = heldout_instructions([s.instruction for s in shipped], n, 5, split)
    assert inputs and sum(i["task"] in inputs for i in items) == 2 * len(inputs)
    for item, bare in zip(items, plain):
        with_input = inputs.get(item["task"])
        assert item["prompt"] == (f"{bare['prompt']}\n\n{with_input.strip()}" if with_input else bare["prompt"])
        assert item["constraints"] == bare["constraints"]


def test_validation_instructions_leave_the_evaluation_untouched(items):
    """The set settings are chosen on: validation tasks, training wordings; no prompt, task or
    held-out wording of the evaluation in it."""
    validation = validation_constrained(140, 0)
    tasks = [s.instruction for s in load_seeds(shipped_tasks_path("validation_tasks"))]
    assert len(validation) == 140 and not {i["prompt"] for i in validation} & {i["prompt"] for i in items}
    assert all(says_only(item["prompt"], c, "train") for item in validation for c in item["constraints"])
    assert sum(any(t.rstrip(".?!")[1:] in i["prompt"] for t in tasks) for i in validation) >= 133


def record(constraints, met, usable=True):
    verification = {"strict": met, "loose": met, "results": [{"id": c, "strict": met, "loose": met} for c in constraints]}
    return {"constraints": [{"id": c, "kwargs": {}} for c in constraints], "constraints_ok": met if constraints else None,
            "response_ok": usable, "verification": verification if constraints else None, "path": []}


@pytest.mark.parametrize("records, count", [
    ([], 0),
    ([record(["x"], True)], 1),
    ([record(["x"], False), record([], None)], 0),
    ([record(["x", "y"], True), record([], None)], 1),
    ([record(["x"], True, usable=False), record(["y"], True)], 1),  # a refused answer is not a verified record
])
def test_one_definition_of_a_verified_record_for_summaries_and_reports(records, count):
    assert sum(map(verified, records)) == count == compliance(records)["verified_records"]


@pytest.mark.parametrize("records, by_count", [
    ([], {}),
    ([record([], None)], {}),  # no constraint, nothing checked
    ([record(["x"], True), record(["x"], False), record(["x", "y"], False)],
     {"1": {"checked": 2, "strict": 0.5}, "2": {"checked": 1, "strict": 0.0}}),
    ([record(["x", "y", "z"], True), record(["y"], True)], {"1": {"checked": 1, "strict": 1.0}, "3": {"checked": 1, "strict": 1.0}}),
])
def test_compliance_by_how_many_constraints_a_record_carries(records, by_count):
    assert compliance(records)["by_count"] == by_count


def test_compliance_counts_the_repaired_answers_and_what_they_were_edited_for():
    records = [{**record(["x", "y"], True), "repaired": ["y"]}, {**record(["y"], True), "repaired": ["y"]},
               record(["x"], True), {**record(["x"], False), "repaired": []}, record([], None)]
    report = compliance(records)
    assert report["repaired_records"] == 2 and report["repaired_by_constraint"] == {"y": 2}
    assert report["verified_records"] == 3  # a repaired answer that passes is a verified record


def ledger(total, roles, completion):
    return {"queries": {"total": total, "by_role": roles}, "tokens": {"completion": completion}}


@pytest.mark.parametrize("books, verified, cost", [
    (ledger(300, {"expert": 80, "responder": 150, "reviewer": 70}, 24000), 10,
     {"queries": 30.0, "expert_queries": 23.0, "completion_tokens": 2400.0}),
    (ledger(7, {"responder": 7}, 1000), 3, {"queries": 2.33, "expert_queries": 2.33, "completion_tokens": 333.33}),
    (ledger(50, {"expert": 20, "reviewer": 30}, 900), 0, {"queries": None, "expert_queries": None, "completion_tokens": None}),
])
def test_what_one_verified_record_cost(books, verified, cost):
    assert per_verified(books, verified) == cost


def test_the_main_job_defaults_are_the_measured_recipe():
    args = build_parser().parse_args(["pipeline"])
    assert (args.constraints_per_instruction, args.dp_epsilon, args.ifbench, args.constrained) == (3, 0.0, -1, 200)
    assert args.answer_samples == 2 * args.sample_batch == 4 and args.budget >= 3000  # two rounds of two answers
    assert args.concurrency * args.sample_batch >= 32  # enough rows in flight for the engine's batch of 32


def test_comparison_reads_one_paired_result():
    assert comparison(None) == "skipped"
    assert comparison({"base": 0.2, "finetuned": 0.45, "n": 200, "p_value": 0.0001}) == \
        "0.200 -> 0.450 (n=200, McNemar p=0.0001)"


def test_a_run_summary_becomes_a_result_file(tmp_path):
    from teamsrl_graph.commands.pipeline import result_of
    from teamsrl_graph.common.results import load_result, write_result

    summary = {"seconds": 1500.0, "queries": 3000, "records": 420, "verified_trained_on": 310,
               "completion_tokens_per_second": 160.5,
               "per_verified_record": {"queries": 9.7, "expert_queries": 7.1, "completion_tokens": 850.0},
               "heldout_constrained": {"n": 200, "base": 0.2, "finetuned": 0.41, "p_value": 1e-6, "gained": 50,
                                       "lost": 8, "interval": [0.14, 0.28]},
               "ifbench": {"n": 276, "base": 0.15, "finetuned": 0.16, "p_value": 0.7, "gained": 10, "lost": 8,
                           "interval": [-0.03, 0.05]},
               "reference_loss": {"base": 2.79, "finetuned": 2.8},
               "mia_auc": {"loss_ratio_auc": 0.55, "loss_ratio_auc_interval": [0.45, 0.65], "chance_band": [0.4, 0.6]}}
    path = write_result(tmp_path / "demo.json", "demo", **result_of(summary))
    result = load_result(path)
    assert result["figures"]["heldout_constrained_gain"] == 0.21 and result["figures"]["verified_trained_on"] == 310
    assert result["figures"]["queries_per_verified_record"] == 9.7
    assert result["figures"]["completion_tokens_per_verified_record"] == 850.0
    assert result["rows"][0][:4] == ["held-out constrained instructions (prompt-level strict)", 200, 0.2, 0.41]
    assert result["rows"][1][4] == "+10 / -8" and result["command"] == "make demo"
    assert "one LoRA fine-tune on the verified records" in result["summary"]
    rl = load_result(write_result(tmp_path / "rl.json", "rl", **result_of({**summary, "trainer": "rlvr"})))
    assert rl["command"] == "teamsrl pipeline --out runs/demo --overwrite --trainer rlvr"
    assert "one GRPO fine-tune (rlvr)" in rl["summary"] and "LoRA fine-tune on the verified" not in rl["summary"]
