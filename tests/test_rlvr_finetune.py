"""The main job's RL fine-tune (`pipeline.fine_tune(trainer="rlvr")`): real trl GRPO on a tiny Llama
over the constrained instructions outside the held-out part, saved as an SFT run is (adapter, run card, model
card, curve), and the settings it refuses."""

from __future__ import annotations

import json

import pytest

from conftest import RECORDS
from teamsrl_graph.commands.pipeline import fine_tune, trainer_config
from teamsrl_graph.common import training
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.dataio.records import split_heldout, usable
from teamsrl_graph.sft.model_card import model_card
from test_export_formats import CONSTRAINED

MORE = [{**CONSTRAINED[0], "id": f"m{n}", "instruction": f"Describe lake number {n} in at most 12 words, no commas."}
        for n in range(4)]
DATA = RECORDS + CONSTRAINED + MORE  # records with and without constraints; c2's answer failed (not usable)


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model):
    """The rlvr fine-tune of the tiny model (2 steps x 2 instructions x 2 answers); its folder and train part."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
        out = tmp_path_factory.mktemp("rlvr")
        config = trainer_config(seed=0, base=str(tiny_model), trainer="rlvr", rl=(2, 2, 2))
        tuned, train, held = fine_tune(DATA, out, config, heldout=0.25)
    return out / "finetune", tuned, train, held


def test_it_trains_on_every_constrained_instruction_outside_the_held_out_part(run):
    folder, tuned, train, held = run
    expected_train, expected_held = split_heldout([r for r in DATA if usable(r)], 0.25, 0)
    assert [r["id"] for r in train] == [r["id"] for r in expected_train] and held == expected_held
    card = json.loads((folder / "run_card.json").read_text())
    held_ids = {r["id"] for r in held}
    # r* carry no constraint; c2's answer failed (not usable, so never held out) but its instruction trains
    assert card["train_ids"] == [r["id"] for r in DATA if r.get("constraints") and r["id"] not in held_ids]
    assert "c2" in card["train_ids"] and held_ids - {"r1", "r2", "r3"}  # something constrained is held out
    train_ids = {r["id"] for r in train}  # the membership audit's members: the usable records trained on
    assert [r["id"] for r in tuned.trained_on(train)] == [i for i in card["train_ids"] if i in train_ids] != []


def test_it_is_saved_as_an_sft_run_is(run):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder, tuned, _, held = run
    card = json.loads((folder / "run_card.json").read_text())
    assert card["trainer"] == "rlvr" and card["steps"] == 2 and card["answers_sampled"] == 2 * 2 * 2
    assert len(card["rewards"]) == 2 and all(0 <= r <= 1 for r in card["rewards"])
    assert len(card["tied_groups"]) == 2 and all(0 <= share <= 1 for share in card["tied_groups"])
    assert card["config"]["num_generations"] == 2 and card["config"]["learning_rate"] == 1e-3  # rlvr's own default
    assert card["records"]["heldout"] == len(held) and card["base"] == "someone/tiny-llama"
    from teamsrl_graph.dataio.records import prompt_of
    from teamsrl_graph.rlvr.trainer import items_sha256

    by_id = {r["id"]: r for r in DATA}  # named by the hash a checkpoint folder of the same instructions carries
    assert card["data_sha256"] == items_sha256([{"prompt": prompt_of(by_id[i]), "constraints": by_id[i]["constraints"]}
                                                for i in card["train_ids"]])
    assert (folder / "adapter" / "adapter_model.safetensors").is_file() and (folder / "reward.png").is_file()
    assert tuned.adapter_dir == folder / "adapter" and tuned.card == card
    readme = (folder / "adapter" / "README.md").read_text()
    assert "GRPOTrainer" in readme and "- grpo\n" in readme and "| optimizer steps / instructions a step / " \
        "answers an instruction | 2 / 2 / 2 |" in readme and "SFTTrainer" not in readme
    assert f"mean reward (share of constraints met, smoothed) first {card['reward']['first']:.4f}" in readme
    base = AutoModelForCausalLM.from_pretrained(card["base_folder"])
    adapted = PeftModel.from_pretrained(base, folder / "adapter")
    assert any("lora_" in name for name, _ in adapted.named_parameters())
    assert not list(folder.glob(".finetune-*"))  # nothing half-written left beside it


@pytest.mark.parametrize("records, settings, field", [
    (DATA, {"trainer": "ppo"}, "--trainer"),
    (DATA, {"trainer": "rlvr", "dp_epsilon": 8.0}, "--dp-epsilon"),
    (RECORDS, {"trainer": "rlvr"}, "constraints"),  # nothing to reward answers by
    (DATA, {"trainer": "rlvr", "rl": (0, 2, 2)}, "steps"),
    (DATA, {"trainer": "rlvr", "rl": (1, 0, 2)}, "prompts_per_step"),
    (DATA, {"trainer": "rlvr", "rl": (1, 2, 1)}, "num_generations"),
])
def test_settings_it_refuses_name_the_field(records, settings, field, tmp_path, tiny_model):
    with pytest.raises(InputError) as error:
        fine_tune(records * 2, tmp_path, trainer_config(seed=0, base=str(tiny_model), **{"rl": (1, 2, 2), **settings}),
                  heldout=0.25)
    assert error.value.field == field
    assert not (tmp_path / "finetune" / "adapter").exists()


@pytest.mark.parametrize("constraint, field", [
    ({"id": "nope:thing", "kwargs": {}}, "constraints[0].id"),
    ({"id": "length_constraints:number_words", "kwargs": {"relation": "at most"}}, "constraints[0].kwargs.num_words"),
])
def test_a_malformed_constraint_is_refused_before_the_model_loads(constraint, field, tmp_path, monkeypatch):
    from teamsrl_graph.models import local
    from teamsrl_graph.rlvr.finetune import finetune_rlvr

    monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    bad = {**MORE[1], "constraints": [constraint]}
    with pytest.raises(InputError) as error:
        finetune_rlvr([MORE[0], bad], tmp_path / "run", data_file=tmp_path / "dataset.jsonl")
    assert (error.value.field, error.value.path) == (field, tmp_path / "dataset.jsonl")
    assert "record 'm1'" in error.value.message and not (tmp_path / "run").exists()


LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj"]}
SFT_CARD = {"base": "tiny", "data_sha256": "0" * 64, "conversations": 3, "steps": 1, "train_tokens": 10, "seconds": 1.0,
            "config": {"lora": LORA, "learning_rate": 1e-4, "epochs": 1.0, "batch_size": 2, "max_length": 64,
                       "dp_clip": 1.0, "seed": 0}, "loss": {"first": 1.5, "last": 1.0}}
RLVR_CARD = {"base": "tiny", "data_sha256": "0" * 64, "conversations": 3, "steps": 2, "answers_sampled": 16,
             "seconds": 1.0, "trainer": "rlvr", "reward": {"first": 0.25, "last": 0.5},
             "config": {"lora": LORA, "learning_rate": 1e-3, "steps": 2, "prompts_per_step": 2, "num_generations": 4,
                        "max_completion_length": 160, "temperature": 0.7, "kl_beta": 0.0, "seed": 0}}


@pytest.mark.parametrize("card, own, other", [
    (SFT_CARD, ["SFTTrainer", "- sft\n", "- conversations trained on", "| epochs (most) / batch size | 1.0 / 2 |",
                "| differential privacy | none |", "training loss (smoothed) first 1.5000, last 1.0000"],
     ["GRPO", "grpo", "KL penalty", "answers sampled", "mean reward"]),
    (RLVR_CARD, ["GRPOTrainer", "- grpo\n- rlvr\n", "- instructions and constraints trained on",
                 "| optimizer steps / instructions a step / answers an instruction | 2 / 2 / 4 |",
                 "| KL penalty beta | 0.0 |", "mean reward (share of constraints met, smoothed) first 0.2500, last 0.5000",
                 "2 optimizer steps, 16 answers sampled"],
     ["SFTTrainer", "- sft\n", "epochs (most)", "differential privacy", "training loss"]),
], ids=["sft", "rlvr"])
def test_a_card_says_what_its_own_trainer_did_and_nothing_of_the_other(card, own, other):
    text = model_card(card)
    shared = ["| base model | `tiny` |", "| LoRA r / alpha / dropout | 8 / 16 / 0.0 |", "| LoRA target modules | q_proj |",
              "| seed | 0 |", "## Training results"]
    assert [s for s in own + shared if s not in text] == []
    assert [s for s in other if s in text] == []


def test_the_finetune_command_trains_rlvr_and_eval_reads_its_run(tmp_path, tiny_model, monkeypatch, capsys):
    from teamsrl_graph.cli import main
    from teamsrl_graph.common.files import read_jsonl, write_jsonl

    monkeypatch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
    data, run = write_jsonl(tmp_path / "dataset.jsonl", DATA), tmp_path / "run"
    assert main(["finetune", "--data", str(data), "--out", str(run), "--base", str(tiny_model), "--trainer", "rlvr",
                 "--rl-steps", "1", "--rl-prompts", "2", "--rl-samples", "2", "--rl-skip-tied", "--heldout", "0.25"]) == 0
    printed = capsys.readouterr().out
    card = json.loads((run / "run_card.json").read_text())
    assert card["trainer"] == "rlvr" and card["steps"] == 1 and card["config"]["skip_tied"] is True
    assert "| groups whose answers all scored alike | left out of the step |" in (run / "adapter" / "README.md").read_text()
    assert f"RLVR on {card['conversations']} constrained" in printed
    members, held = read_jsonl(run / "train.jsonl"), read_jsonl(run / "heldout.jsonl")
    assert [m["id"] for m in members] == card["train_ids"] and not (run / "validation.jsonl").exists()
    assert set(card["train_ids"]) <= {r["id"] for r in DATA if r.get("constraints")}
    assert "c2" in {c["id"] for c in members + held}  # its answer failed only its constraint: the instruction serves
    assert not {m["id"] for m in members} & {h["id"] for h in held}
    assert main(["eval", "--run", str(run), "--judge", ""]) == 0
    assert json.loads((run / "eval.json").read_text())["records"]["train"] == len(members)
