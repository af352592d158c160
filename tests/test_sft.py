"""Supervised fine-tuning: graph records -> conversations, bad data, and a real 2-step LoRA run."""

from __future__ import annotations

import json

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.common.files import write_jsonl
from teamsrl_graph.dataio.records import split_heldout
from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.common.training import fingerprint
from teamsrl_graph.sft import data as sft_data

from conftest import RECORDS


def test_records_become_conversations():
    conversations = sft_data.to_conversations(RECORDS)
    assert [c["id"] for c in conversations] == ["r1", "r2", "r3", "r4"]  # the failed response is skipped
    first = conversations[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant"]
    assert first[0]["content"] == RECORDS[0]["instruction"]
    assert first[1]["content"] == RECORDS[0]["response"]
    with_input = conversations[1]["messages"][0]["content"]
    assert with_input == RECORDS[1]["instruction"] + "\n\n" + RECORDS[1]["input"]


def test_jsonl_dataset_and_records_give_the_same_conversations(tmp_path):
    from datasets import Dataset

    path = write_jsonl(tmp_path / "dataset.jsonl", RECORDS)
    from_file, source = sft_data.load(path)
    from_dataset, _ = sft_data.load(Dataset.from_list(RECORDS))
    from_records, _ = sft_data.load(RECORDS)
    assert source == str(path)
    assert from_file == from_dataset == from_records
    assert fingerprint(from_file) == fingerprint(from_records)
    already, _ = sft_data.load(Dataset.from_list(from_records))  # a conversational dataset passes through
    assert already == from_records


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "dataset.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no records") as error:
        sft_data.load(path)
    assert error.value.path == path


def test_record_without_response_names_line_and_field(tmp_path):
    path = tmp_path / "dataset.jsonl"
    broken = {k: v for k, v in RECORDS[1].items() if k != "response"}
    path.write_text(json.dumps(RECORDS[0]) + "\n" + json.dumps(broken) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        sft_data.load(path)
    assert (error.value.line, error.value.field) == (2, "response")


def test_no_usable_response_and_bad_json_are_errors(tmp_path):
    with pytest.raises(InputError, match="usable response"):
        sft_data.load([RECORDS[4]])
    path = tmp_path / "dataset.jsonl"
    path.write_text(json.dumps(RECORDS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad JSON") as error:
        sft_data.load(path)
    assert error.value.line == 2


def test_split_heldout_is_seeded_and_disjoint():
    train, held = split_heldout(list(range(50)), 0.2, seed=1)
    assert len(held) == 10 and len(train) == 40 and not set(train) & set(held)
    assert split_heldout(list(range(50)), 0.2, seed=1) == (train, held)
    assert len(split_heldout([1, 2], 0.2)[1]) == 1  # at least one held out when there are two


def test_two_lora_steps_change_the_adapter_only_and_reload(tiny_model, tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    config = SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=2, learning_rate=1e-2, merge=True)
    result = finetune(RECORDS, tmp_path, config)  # 4 usable records / batch 2 = 2 steps

    assert result.card["steps"] == 2 and len(result.losses) == 2 and result.train_tokens > 0
    saved = load_file(result.adapter_dir / "adapter_model.safetensors")
    assert saved and all("lora_" in name for name in saved)  # only adapter weights are saved
    assert any(t.abs().sum() > 0 for name, t in saved.items() if "lora_B" in name)  # B starts at zero

    original = AutoModelForCausalLM.from_pretrained(tiny_model)
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), result.adapter_dir)
    q_base = reloaded.base_model.model.model.layers[0].self_attn.q_proj
    assert torch.equal(q_base.base_layer.weight, original.model.layers[0].self_attn.q_proj.weight)
    lora_b = q_base.lora_B["default"].weight
    assert torch.equal(lora_b, saved[next(n for n in saved if "layers.0.self_attn.q_proj.lora_B" in n)].to(lora_b.dtype))

    merged = AutoModelForCausalLM.from_pretrained(result.merged_dir)
    assert not torch.equal(merged.model.layers[0].self_attn.q_proj.weight,
                           original.model.layers[0].self_attn.q_proj.weight.to(merged.dtype))

    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["data_sha256"] == fingerprint(sft_data.to_conversations(RECORDS))
    assert card["config"]["lora"]["r"] == config.lora.r and card["losses"] == result.losses
    assert (tmp_path / "loss.png").stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".finetune-")]  # no temporary left


def test_finetune_rejects_a_folder_without_a_model(tmp_path):
    with pytest.raises(InputError, match="not a transformers model folder"):
        finetune(RECORDS, tmp_path / "out", SFTRunConfig(base=str(tmp_path)))


def test_padding_free_batches_train_exactly_like_padded_ones(tiny_model, tmp_path):
    """Joining a batch's conversations into one row (positions restarting at each) keeps attention
    within each conversation: the same losses step by step and the same tokens as padded batches.
    A conversation longer than max_length falls back to padded batches, which cut it."""
    from teamsrl_graph.common.lora import LoraSettings

    records = RECORDS + [{**RECORDS[0], "id": "long", "response": " ".join(["word"] * 60)}]  # lengths differ a lot
    settings = dict(base=str(tiny_model), epochs=2, batch_size=3, learning_rate=1e-2, validation_fraction=0,
                    lora=LoraSettings(dropout=0.0))  # dropout would draw different masks for different shapes
    padded = finetune(records, tmp_path / "padded", SFTRunConfig(padding_free=False, **settings))
    joined = finetune(records, tmp_path / "joined", SFTRunConfig(padding_free=True, **settings))
    assert (padded.card["padding_free"], joined.card["padding_free"]) == (False, True)
    assert len(joined.losses) == len(padded.losses) == 4
    assert joined.losses == pytest.approx(padded.losses, rel=1e-4)
    assert joined.train_tokens == padded.train_tokens  # the pad token is also the end of a turn: all are counted
    cut = finetune(records, tmp_path / "cut", SFTRunConfig(padding_free=True, max_length=90, **settings))
    assert cut.card["padding_free"] is False and cut.train_tokens < padded.train_tokens
