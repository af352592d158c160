"""The main job end to end on the real embedded model, shrunk: generate -> fine-tune -> evaluate."""

import json

import pytest

from teamsrl_graph.cli import main

pytestmark = pytest.mark.integration


def test_pipeline_generates_finetunes_and_evaluates(tmp_path, capsys):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join([
        "Explain why leaves change colour in autumn.", "Write a two-line poem about rain.",
        "List three ways to save water at home.", "What is the boiling point of water at sea level?",
        "Describe a cat to someone who has never seen one.", "Give one tip for learning to cook.",
        "Explain what a noun is.", "Name two planets and one fact about each.",
        "Describe the smell of fresh bread.", "Tell me how a bicycle pump works.",
        "Suggest a name for a small bakery.", "Explain what a rainbow is to a child.",
        "Give two reasons to plant trees in a city.", "Describe a busy train station at rush hour.",
        "Explain how to make a paper aeroplane.", "Write a short thank-you note to a neighbour.",
        "What does a librarian do all day?", "Explain why the sea tastes salty.",
        "Suggest three games for a rainy afternoon.", "Describe the sound of a thunderstorm.",
    ]) + "\n")
    out = tmp_path / "run"
    # a uniform type draw (not one that follows this small run's few verifications) and up to 16
    # answers an instruction, so that enough of the 20 verify to train on and hold out (the pipeline
    # needs 4); which answers verify still varies from run to run
    code = main(["pipeline", "--seeds", str(seeds), "--out", str(out), "--budget", "400", "--router", "fixed",
                 "--max-steps", "1", "--epochs", "1", "--judge-pairs", "1", "--heldout", "0.25", "--ifbench", "2",
                 "--constrained", "4", "--answer-tokens", "96", "--answer-samples", "16",
                 "--constraints-per-instruction", "1", "--type-draw", "uniform"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["queries"] <= 400 and summary["records"] == 20
    assert summary["train_records"] + summary["heldout_records"] <= summary["records"]
    assert (out / "finetune" / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "eval" / "roc.png").is_file() and (out / "generate" / "report.json").is_file()
    losses = json.loads((out / "eval" / "eval.json").read_text())["record_losses"]
    members, nonmembers = losses["train"]["finetuned"], losses["heldout"]["finetuned"]
    counted = sum((m < n) + 0.5 * (m == n) for m in members for n in nonmembers) / (len(members) * len(nonmembers))
    assert summary["mia_auc"]["loss_auc"] == pytest.approx(counted, abs=1e-3)  # the audit's AUC, counted by hand
    low, high = summary["mia_auc"]["loss_ratio_auc_interval"]
    assert low <= summary["mia_auc"]["loss_ratio_auc"] <= high
    assert not (summary["differential_privacy"] or {}).get("epsilon")  # plain LoRA is the main job's default
    records = [json.loads(line) for line in (out / "generate" / "dataset.jsonl").read_text().splitlines()]
    assert all(len(r["constraints"]) == 1 for r in records if r["status"] == "done")  # every answer is checked
    assert summary["verified_records"] == sum(bool(r["constraints_ok"]) for r in records)
    assert 0 <= summary["verified_trained_on"] <= min(summary["train_records"], summary["verified_records"])
    for name, n in (("heldout_constrained", 4), ("ifbench", 2)):
        figures = summary[name]
        assert figures["n"] == n and 0 <= figures["base"] <= 1 and 0 <= figures["finetuned"] <= 1 and 0 < figures["p_value"] <= 1
    assert set(summary["reference_loss"]) == {"base", "finetuned"}
    assert "pipeline:" in capsys.readouterr().out
