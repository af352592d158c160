"""Exports the ecosystem reads: JSON lines, Parquet and saved folders; constraints and verification
kept in every format; the rlvr format and its reward, trained on for one real GRPO step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import RECORDS
from teamsrl_graph.cli import main
from teamsrl_graph.constraints import verify
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.dataio.export import FORMATS, constraint_reward, decode_constraints, to_dataset, write

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
SHORT = {"id": "length_constraints:number_words", "kwargs": {"relation": "at most", "num_words": 12}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
KEYWORD = {"id": "keywords:existence", "kwargs": {"keywords": ["tide"]}}


def checked(record: dict) -> dict:
    """`record` with its answer verified against its constraints, as the graph writes it."""
    verification = verify(record["response"], record["constraints"])
    return {**record, "verification": verification, "constraints_ok": verification["strict"]}


CONSTRAINED = [
    checked({"id": "c1", "seed": "Describe the sea.", "input": "", "queries": 4,
             "instruction": "Describe the sea in at most 12 words and do not use any commas.",
             "response": "The sea is wide and blue and never still.", "response_ok": True, "constraints": [NO_COMMA, SHORT],
             "repaired": [NO_COMMA["id"]],  # its answer was edited to meet this one
             "path": [{"op": "add_constraints", "candidate": "...", "accepted": True, "reason": "gained", "score": 1.0,
                       "constraint": SHORT, "fallback": False}]}),
    checked({"id": "c2", "seed": "Write about rain.", "input": "", "queries": 3,
             "instruction": "Write a short note about rain in lowercase letters only.",
             "response": "Rain falls softly on the roof.", "response_ok": False, "constraints": [LOWER], "path": []}),
    checked({"id": "c3", "seed": "Explain the tide.", "input": "", "queries": 5,
             "instruction": "Explain what the tide is, using the word tide.",
             "response": "The tide is the rise and fall of the sea.", "response_ok": True, "constraints": [KEYWORD],
             "path": []}),
]
MIXED = [RECORDS[0]] + CONSTRAINED  # one record without constraints


def write_records(path: Path, records=MIXED) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load(path: Path, kind: str):
    from datasets import load_dataset, load_from_disk

    if kind == "disk":
        return load_from_disk(str(path))
    return load_dataset("json" if kind == "jsonl" else "parquet", data_files=str(path), split="train")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name, to, kind", [
    ("out.jsonl", None, "jsonl"), ("out.parquet", None, "parquet"), ("out", None, "disk"),
    ("out.data", "jsonl", "jsonl"), ("out.data", "parquet", "parquet"), ("out.jsonl", "disk", "disk"),
])
def test_every_format_loads_back_from_every_kind_of_output(tmp_path, capsys, fmt, name, to, kind):
    data, out = write_records(tmp_path / "dataset.jsonl"), tmp_path / "sub" / name
    assert main(["export", "--data", str(data), "--format", fmt, "--out", str(out), *(["--to", to] if to else [])]) == 0
    assert out.is_dir() == (kind == "disk")
    assert load(out, kind).to_list() == to_dataset(MIXED, fmt).to_list()
    assert f"({kind})" in capsys.readouterr().out
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind


@pytest.mark.parametrize("name, existing", [("out.jsonl", "file"), ("out.parquet", "file"), ("out", "dataset"),
                                            ("out", "empty folder"), ("out", "file"), ("out.jsonl", "dataset")])
def test_an_existing_output_is_replaced_only_with_overwrite(tmp_path, capsys, name, existing):
    from datasets import Dataset

    data, out = write_records(tmp_path / "dataset.jsonl"), tmp_path / name
    if existing == "file":
        out.write_text("keep me\n")
    elif existing == "dataset":
        Dataset.from_list([{"keep": "me"}]).save_to_disk(str(out))
    else:
        out.mkdir()
    capsys.readouterr()  # the setup's progress bars
    before = sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else b"") for p in tmp_path.rglob("*"))
    assert main(["export", "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out} field 'out': already exists; pass --overwrite" in err and len(err.strip().splitlines()) == 1
    assert sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else b"") for p in tmp_path.rglob("*")) == before
    assert main(["export", "--data", str(data), "--out", str(out), "--overwrite"]) == 0
    assert load(out, "disk" if out.suffix == "" else out.suffix[1:]).num_rows == 3  # c2's answer failed: left out


def test_write_refuses_too(tmp_path):
    out = tmp_path / "x.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(InputError, match="already exists"):
        write(to_dataset(MIXED), out)
    assert out.read_text() == "keep me\n"
    with pytest.raises(InputError, match="unknown output kind 'csv'"):
        write(to_dataset(MIXED), tmp_path / "y", "csv")


@pytest.mark.parametrize("fmt", ["messages", "prompt-completion", "alpaca"])
def test_constraints_and_verification_travel_in_every_format(fmt):
    rows = {r["id"]: r for r in to_dataset(MIXED, fmt, keep_failed=True).to_list()}
    assert list(rows) == ["r1", "c1", "c2", "c3"]
    for record in CONSTRAINED:
        row = rows[record["id"]]
        assert decode_constraints(row["constraints"]) == record["constraints"]
        assert row["verification"] == record["verification"] and row["constraints_ok"] == record["constraints_ok"]
        assert row["repaired"] == record.get("repaired", [])  # which answers were edited stays known
    assert (rows["c1"]["constraints_ok"], rows["c2"]["constraints_ok"]) == (True, False)
    assert rows["c1"]["evolution"] == ["add_constraints"] and rows["r1"]["constraints"] == []


def test_rlvr_rows_are_the_constrained_prompts():
    rows = to_dataset(MIXED, "rlvr").to_list()
    assert [r["id"] for r in rows] == ["c1", "c2", "c3"]  # r1 has no constraint; c2's failed answer does not matter
    assert rows[0]["prompt"] == [{"role": "user", "content": CONSTRAINED[0]["instruction"]}]
    assert [decode_constraints(r["constraints"]) for r in rows] == [r["constraints"] for r in CONSTRAINED]
    with pytest.raises(InputError, match="none of the 1 records has a constraint"):
        to_dataset([RECORDS[0]], "rlvr")


def test_a_malformed_constraint_names_line_and_field(tmp_path, capsys):
    bad = {**CONSTRAINED[0], "constraints": [NO_COMMA, {"id": "length_constraints:number_words", "kwargs": {"relation": "at most"}}]}
    data = write_records(tmp_path / "dataset.jsonl", [RECORDS[0], bad])
    assert main(["export", "--data", str(data), "--format", "rlvr", "--out", str(tmp_path / "out.jsonl")]) == 2
    assert "dataset.jsonl:2 field 'constraints[1].kwargs.num_words': missing argument" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("completion, expected", [
    ("The sea is calm today.", 1.0),  # no comma, 5 words
    ("The sea, calm and grey, rolls in.", 0.5),  # commas, but short
    ([{"role": "assistant", "content": "Calm, grey, " + "very " * 20 + "wide."}], 0.0),  # a conversation: last turn
    ("", 0.0),
])
def test_the_reward_is_the_fraction_of_constraints_met(completion, expected):
    [row] = to_dataset([CONSTRAINED[0]], "rlvr").to_list()
    assert constraint_reward([completion], [row["constraints"]]) == [expected]
    assert constraint_reward([completion], [CONSTRAINED[0]["constraints"]]) == [expected]  # plain kwargs too
    assert constraint_reward(["anything"], [[]]) == [1.0]


def test_one_grpo_step_on_the_exported_prompts(tmp_path, tiny_model):
    """The rlvr export, loaded with load_dataset, trains one real GRPO step with the registry as reward."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    data, out = write_records(tmp_path / "dataset.jsonl"), tmp_path / "rlvr.jsonl"
    assert main(["export", "--data", str(data), "--format", "rlvr", "--out", str(out)]) == 0
    dataset = load(out, "jsonl")
    expected = {r["instruction"]: r["constraints"] for r in CONSTRAINED}
    calls, given = [], []

    def reward(completions, constraints, prompts, **kwargs):
        calls.append([(p[-1]["content"], decode_constraints(c)) for p, c in zip(prompts, constraints)])
        given.extend(constraint_reward(completions, constraints, **kwargs))
        return given[-len(completions):]

    args = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=1, per_device_train_batch_size=6, num_generations=2,
                      max_completion_length=8, learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[],
                      use_cpu=True, bf16=False, seed=0)
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model), reward_funcs=reward, args=args,
                          train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(tiny_model))
    trainer.train()
    assert trainer.state.global_step == 1
    [batch] = calls  # 3 prompts x 2 generations, scored once
    assert len(batch) == 6 and {prompt for prompt, _ in batch} == set(expected)
    assert all(constraints == expected[prompt] for prompt, constraints in batch)
    [logged] = [h for h in trainer.state.log_history if "reward" in h]
    assert logged["reward"] == pytest.approx(sum(given) / len(given))  # the step's mean reward is the function's
