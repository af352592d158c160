"""The adapter's model card: written when a fine-tune ends (data, settings, training results) and
rewritten with the evaluation's figures when `teamsrl eval` runs on the adapter."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import RECORDS
from teamsrl_graph.common import training
from teamsrl_graph.cli import main
from teamsrl_graph.common.files import write_jsonl
from teamsrl_graph.sft.model_card import model_card
from test_export_formats import CONSTRAINED

FAILED_CONSTRAINT = {**CONSTRAINED[1], "id": "c4", "response_ok": False}  # trained on only with --unverified
DATA = RECORDS + CONSTRAINED + [FAILED_CONSTRAINT]


@pytest.fixture
def finetuned(tmp_path_factory, tiny_model, monkeypatch):
    """`teamsrl finetune` of the tiny model on records with and without constraints; the run folder."""
    monkeypatch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
    folder = tmp_path_factory.mktemp("card")
    data, run = write_jsonl(folder / "dataset.jsonl", DATA), folder / "run"
    assert main(["finetune", "--data", str(data), "--out", str(run), "--base", str(tiny_model), "--epochs", "1",
                 "--heldout", "0.25", "--r", "4", "--alpha", "8", "--target-modules", "q_proj,v_proj", "--lr", "0.003",
                 "--unverified", "--validation", "0"]) == 0
    return run, data


def test_the_card_names_the_data_settings_and_results_then_the_evaluation(finetuned, tiny_model, capsys):
    run, data = finetuned
    card = json.loads((run / "run_card.json").read_text())
    readme = (run / "adapter" / "README.md").read_text()
    assert readme.startswith("---\nbase_model: someone/tiny-llama\nlibrary_name: peft\n")
    assert "tags:\n- lora\n" in readme.split("---")[1]
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    assert f"data file: `dataset.jsonl`, sha256 `{sha}`" in readme and card["data_file"]["sha256"] == sha

    heldout = len((run / "heldout.jsonl").read_text().splitlines())
    trained = card["train_ids"]
    assert f"- records: {len(trained)} trained on, 0 validation (early stopping), {heldout} held out" in readme
    ok = {r["id"]: r["constraints_ok"] for r in DATA if r.get("constraints_ok") is not None}
    checked = [ok[i] for i in trained if i in ok]  # c2 and c4 fail their constraint, c1 and c3 meet theirs
    assert checked and f"{sum(checked)} of the {len(checked)} trained-on records with verifiable constraints" in readme
    assert f"(rate {round(sum(checked) / len(checked), 4)})" in readme

    for row in ("| base model | `someone/tiny-llama` |", "| LoRA r / alpha / dropout | 4 / 8 / 0.05 |",
                "| LoRA target modules | q_proj, v_proj |", "| learning rate | 0.003 |", "| differential privacy | none |"):
        assert row in readme
    assert f"training loss (smoothed) first {card['loss']['first']:.4f}, last {card['loss']['last']:.4f}" in readme
    assert "Not evaluated yet" in readme
    assert str(tiny_model) not in readme and str(run) not in readme  # no folder of this machine

    capsys.readouterr()
    assert main(["eval", "--run", str(run), "--judge", ""]) == 0
    result = json.loads((run / "eval.json").read_text())
    readme = (run / "adapter" / "README.md").read_text()
    assert "Not evaluated yet" not in readme and f"data file: `dataset.jsonl`, sha256 `{sha}`" in readme
    for name in ("heldout_loss", "heldout_perplexity", "train_loss"):
        label = name.replace("_", " ").replace("heldout", "held-out").replace("train loss", "training-set loss")
        assert f"| {label} | {result[name]['base']} | {result[name]['finetuned']} |" in readme
    assert f"membership inference AUC (0.5 = no leak): loss {result['membership_inference']['loss_auc']}" in readme

    # the figures an evaluation with a judge and IFBench adds, and a DP-SGD run's privacy
    ifbench = {"n": 10, "base": 0.2, "finetuned": 0.3, "p_value": 0.625, "gained": 2, "lost": 1}
    constrained = {"n": 200, "base": 0.21, "finetuned": 0.4, "p_value": 0.0001, "gained": 50, "lost": 12}
    judged = {**result, "ifbench": ifbench, "heldout_constrained": constrained, "win_rate": {"judge": "openai:gpt-4o-mini?api_key=sk-secret", "win_rate": 0.75,
                                                        "pairs": 4, "wins": 3, "losses": 1, "ties": 0}}
    private = {**card, "differential_privacy": {"epsilon": 8.0, "epsilon_spent": 7.9, "delta": 1e-3, "noise_multiplier": 0.9}}
    text = model_card(private, judged)
    assert "| IFBench, prompt-level loose accuracy (10 prompts; McNemar p = 0.625) | 0.200 | 0.300 |" in text
    assert "| held-out constrained instructions, prompt-level strict accuracy (200 prompts; McNemar p = 0.0001) | 0.210 | 0.400 |" in text
    assert "win rate of the fine-tuned over the base model: 0.75 over 4" in text and "sk-secret" not in text
    assert "| differential privacy | DP-SGD, epsilon 7.9 spent of 8.0" in text and "- dp-sgd" in text


@pytest.mark.parametrize("given, verification", [
    (DATA, {"with_constraints": 2, "verified": 1, "rate": 0.5}),  # records in memory: c1 meets, c2 fails
    ([{"id": r["id"], "messages": []} for r in DATA], None),  # conversations alone do not say
    (RECORDS, {"with_constraints": 0, "verified": 0, "rate": None}),
])
def test_the_verification_rate_counts_the_trained_on_records(given, verification):
    from teamsrl_graph.sft.model_card import provenance

    facts = provenance(given, None, ["r1", "c1", "c2"], validation=1, heldout=2)
    assert facts == {"data_file": None, "records": {"trained": 3, "validation": 1, "heldout": 2}, "verification": verification}
    text = model_card_text(facts)
    assert ("verification: not known" in text) == (verification is None)
    assert "/somewhere" not in text and "base_model:" not in text and "`tiny`" in text  # a folder: only its name


def model_card_text(facts: dict) -> str:
    config = {"lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj"]}, "learning_rate": 1e-4,
              "epochs": 1.0, "batch_size": 2, "max_length": 64, "dp_clip": 1.0, "seed": 0}
    return model_card({"base": "/somewhere/tiny", "data_sha256": "0" * 64, "conversations": 3, "config": config,
                       "loss": None, "steps": 1, "train_tokens": 10, "seconds": 1.0, **facts})
