"""Evaluation: the membership-inference AUC and ROC, the pairwise judge, and a real evaluate() run."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamsrl_graph.common import prompts
from teamsrl_graph.evaluation import EvalConfig, auc, evaluate, loss_attack, roc_curve, table
from teamsrl_graph.evaluation import judge
from teamsrl_graph.sft import SFTRunConfig, finetune

from conftest import RECORDS


def test_loss_attack_auc_known_answers():
    members, nonmembers = [0.1, 0.2, 0.3], [1.0, 1.5, 2.0, 2.5]
    assert loss_attack(members, nonmembers) == 1.0  # members always have the lower loss
    assert loss_attack(nonmembers, members) == 0.0
    assert loss_attack([0.7] * 5, [0.7] * 8) == 0.5  # identical losses: chance
    assert loss_attack([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.5


scores = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=12)


@given(scores, scores)
def test_rank_auc_matches_pair_counting_and_the_roc_area(positives, negatives):
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    assert auc(positives, negatives) == pytest.approx(pairs / (len(positives) * len(negatives)))
    fpr, tpr = roc_curve(positives, negatives)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert fpr == sorted(fpr) and tpr == sorted(tpr)
    area = sum((fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2 for i in range(len(fpr) - 1))
    assert area == pytest.approx(auc(positives, negatives))


@pytest.mark.parametrize("positives, negatives, inside, wide", [
    ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0], (0.0, 0.0), False),  # perfectly separated: every resample says 0
    ([float(i) for i in range(0, 60, 2)], [float(i) for i in range(1, 61, 2)], (0.45, 0.5), True),  # interleaved
])
def test_auc_interval_holds_the_auc_and_reflects_the_sample(positives, negatives, inside, wide):
    from teamsrl_graph.evaluation.mia import interval

    low, high = interval(positives, negatives)
    assert low <= auc(positives, negatives) <= high and low <= inside[0] and inside[1] <= high
    assert (high - low > 0.1) == wide  # 30 + 30 records leave the AUC uncertain by more than ±0.05
    assert interval(positives, negatives) == (low, high)  # seeded


@pytest.mark.parametrize("members, nonmembers", [(27, 11), (20, 20), (60, 60)])
def test_chance_band_is_the_spread_of_a_leak_free_audit(members, nonmembers):
    import math

    from teamsrl_graph.evaluation.mia import chance_band

    positives = [float(i) for i in range(members)]
    negatives = [float(i) + 0.5 for i in range(nonmembers)]
    low, high = chance_band(positives, negatives)
    spread = 1.96 * math.sqrt((members + nonmembers + 1) / (12 * members * nonmembers))  # Mann-Whitney null
    assert low == pytest.approx(0.5 - spread, abs=0.03) and high == pytest.approx(0.5 + spread, abs=0.03)
    assert chance_band(positives, negatives) == (low, high)  # seeded
    separated = [x + 1000 for x in positives]  # every member above every non-member: AUC 1, far outside
    assert auc(separated, negatives) == 1.0 and chance_band(separated, negatives)[1] < 1.0


def test_chance_band_depends_on_ranks_only():
    from teamsrl_graph.evaluation.mia import chance_band

    positives, negatives = [0.1, 0.4, 0.35, 0.8, 0.05], [0.3, 0.2, 0.9, 0.6]
    assert chance_band(positives, negatives) == chance_band([x * 10 - 3 for x in positives],
                                                            [x * 10 - 3 for x in negatives])


def test_merged_adapter_is_the_same_model_and_unmerges(tiny_model):  # noqa: F811
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from teamsrl_graph.evaluation.evaluator import merged

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)).eval()
    tokens = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        with model.disable_adapter():
            base = model(tokens).logits
        adapted = model(tokens).logits
        assert not torch.allclose(base, adapted, atol=1e-4)  # the adapter does something
        with merged(model):
            assert all(m.merged for m in model.modules() if hasattr(m, "merged"))  # folded into the weights
            assert torch.allclose(model(tokens).logits, adapted, atol=1e-5)
        assert not any(m.merged for m in model.modules() if hasattr(m, "merged"))  # unmerged on the way out
        with model.disable_adapter():
            assert torch.allclose(model(tokens).logits, base, atol=1e-5)
        assert torch.allclose(model(tokens).logits, adapted, atol=1e-5)


def test_verdicts_and_position_swapped_outcomes():
    assert judge.parse_verdict(" B.") == "B"
    assert judge.parse_verdict(" A, because it is complete") == "A"
    assert judge.parse_verdict("neither") is None
    assert judge.outcome("A", "B") == "finetuned"  # chosen in both positions
    assert judge.outcome("B", "A") == "base"
    assert judge.outcome("A", "A") == "tie"  # the judge only followed the position
    pairs = [{"outcome": o, "verdict_finetuned_first": a, "verdict_finetuned_second": b}
             for o, a, b in [("finetuned", "A", "B"), ("tie", "A", "A"), ("base", "B", "A"), ("tie", None, "A")]]
    rate = judge.win_rate(pairs)
    assert rate["win_rate"] == 0.5 and (rate["wins"], rate["losses"], rate["ties"]) == (1, 1, 2)
    assert rate["first_position_rate"] == pytest.approx(5 / 7, abs=1e-4) and rate["unparsed_verdicts"] == 1


def pairwise_auc(member_losses, nonmember_losses) -> float:
    """P(a member's loss is below a non-member's), ties counting half: the loss attack's AUC by definition."""
    pairs = [(m < n) + 0.5 * (m == n) for m in member_losses for n in nonmember_losses]
    return sum(pairs) / len(pairs)


def test_judge_template_is_shipped_and_valid():
    template = prompts.load("judge_pair")
    messages = template.render({"instruction": "Add 2 and 2.", "first": "4", "second": "5"})
    assert "Answer A:\n4" in messages[-2].content and messages[-1].content == template.prefill_text


def test_evaluate_a_tiny_adapter_end_to_end(tiny_model, tmp_path):  # noqa: F811
    train, heldout = RECORDS[:3], RECORDS[3:]  # RECORDS[4] has no usable response and is skipped
    run = finetune(train, tmp_path / "run", SFTRunConfig(base=str(tiny_model), epochs=2, batch_size=3,
                                                         learning_rate=1e-2))
    config = EvalConfig(judge=f"local:{tiny_model}", max_new_tokens=4, judge_pairs=2)
    result = evaluate(run.adapter_dir, heldout, train, tmp_path / "eval", config)

    saved = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert saved == result
    assert result["records"] == {"train": 3, "heldout": 1}
    assert result["train_loss"]["finetuned"] < result["train_loss"]["base"]  # it learnt its training data
    mia = result["membership_inference"]
    assert (mia["members"], mia["nonmembers"]) == (3, 1)
    losses = result["record_losses"]  # the attack's AUC, counted pair by pair from the saved losses
    assert mia["loss_auc"] == pytest.approx(pairwise_auc(losses["train"]["finetuned"], losses["heldout"]["finetuned"]), abs=1e-3)
    ratio = lambda part: [f / b for f, b in zip(losses[part]["finetuned"], losses[part]["base"])]  # noqa: E731
    assert mia["loss_ratio_auc"] == pytest.approx(pairwise_auc(ratio("train"), ratio("heldout")), abs=1e-3)
    assert result["win_rate"]["pairs"] == 1 and result["win_rate"]["judge"] == config.judge
    answers = [json.loads(line) for line in (tmp_path / "eval" / "answers.jsonl").read_text().splitlines()]
    assert answers[0]["instruction"] == RECORDS[3]["instruction"]
    assert (tmp_path / "eval" / "roc.png").stat().st_size > 0
    assert "held-out perplexity" in table(result)


def test_losses_in_float32_on_request(tiny_model, tmp_path):  # noqa: F811
    from teamsrl_graph.common.errors import InputError
    from teamsrl_graph.models.local import default_dtype

    run = finetune(RECORDS[:3], tmp_path / "run", SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=3))
    results = {dtype: evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / dtype,
                               EvalConfig(judge=f"local:{tiny_model}", judge_pairs=1, max_new_tokens=4,
                                          loss_dtype=dtype, reference=False))
               for dtype in ("auto", "float32")}
    assert results["float32"]["loss_dtype"] == "float32" and results["float32"]["win_rate"]["pairs"] == 1
    assert results["auto"]["loss_dtype"] == str(default_dtype()).removeprefix("torch.")
    with pytest.raises(InputError) as error:
        evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "bad", EvalConfig(loss_dtype="float16"))
    assert error.value.field == "loss_dtype" and not (tmp_path / "bad").exists()


@pytest.mark.integration
def test_real_model_finetune_and_eval(tmp_path):
    """The embedded 135M model: a short fine-tune moves the loss and the whole evaluation runs."""
    run = finetune(RECORDS[:3], tmp_path, SFTRunConfig(epochs=2, batch_size=3, learning_rate=1e-3))  # a clear move in one step
    result = evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path,
                      EvalConfig(max_new_tokens=32, judge_pairs=1))
    assert run.losses[-1] < run.losses[0]
    assert result["train_loss"]["finetuned"] < result["train_loss"]["base"]
    assert result["win_rate"]["pairs"] == 1 and result["win_rate"]["unparsed_verdicts"] <= 2


def test_cli_finetune_then_eval(tiny_model, tmp_path, capsys):  # noqa: F811
    from teamsrl_graph.cli import main
    from teamsrl_graph.common.files import write_jsonl

    data = write_jsonl(tmp_path / "dataset.jsonl", RECORDS)
    run = tmp_path / "run"
    assert main(["finetune", "--data", str(data), "--out", str(run), "--base", str(tiny_model), "--epochs", "1",
                 "--heldout", "0.25", "--r", "4", "--target-modules", "q_proj,v_proj"]) == 0
    assert "fine-tuned on 3 conversations (1 records held out)" in capsys.readouterr().out
    card = json.loads((run / "run_card.json").read_text())
    assert card["config"]["lora"] == {"r": 4, "alpha": 16, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]}
    assert main(["eval", "--run", str(run), "--judge", ""]) == 0  # no judge: losses and the audit only
    assert "membership inference AUC (3 members, 1 non-members" in capsys.readouterr().out
    assert "win_rate" not in json.loads((run / "eval.json").read_text())


@pytest.mark.parametrize("make_file, seed", [(False, None), (False, 5), (True, None)])
def test_cli_eval_constrained_takes_a_number_or_a_file(make_file, seed, tiny_model, tmp_path, capsys):  # noqa: F811
    """--constrained N answers the main job's N held-out constrained instructions for its --seed (0 unless
    given); a file of items is read as it is."""
    from teamsrl_graph.cli import main
    from teamsrl_graph.commands.pipeline import evaluation_constrained
    from teamsrl_graph.common.files import read_jsonl, write_jsonl

    run = tmp_path / "run"
    assert main(["finetune", "--data", str(write_jsonl(tmp_path / "dataset.jsonl", RECORDS)), "--out", str(run),
                 "--base", str(tiny_model), "--epochs", "1", "--heldout", "0.25"]) == 0
    expected = evaluation_constrained(3, seed or 0)  # what `teamsrl pipeline --constrained 3 --seed S` evaluates
    assert seed is None or [i["prompt"] for i in expected] != [i["prompt"] for i in evaluation_constrained(3, 0)]
    source = str(write_jsonl(tmp_path / "items.jsonl", expected[:2])) if make_file else "3"
    flags = ["--seed", str(seed)] if seed is not None else []
    assert main(["eval", "--run", str(run), "--judge", "", "--constrained", source, "--answer-tokens", "4", *flags]) == 0
    answered = [row["prompt"] for row in read_jsonl(run / "constrained_answers.jsonl")]
    assert answered == [item["prompt"] for item in expected[: 2 if make_file else 3]]
    assert json.loads((run / "eval.json").read_text())["heldout_constrained"]["n"] == len(answered)
    with pytest.raises(SystemExit) as refused:  # argparse's usage error
        main(["eval", "--run", str(run), "--constrained", "-2"])
    assert refused.value.code == 2 and "argument --constrained" in capsys.readouterr().err


def test_cli_reports_bad_data_in_one_line(tmp_path, capsys):
    from teamsrl_graph.cli import main

    empty = tmp_path / "dataset.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["finetune", "--data", str(empty), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == f"teamsrl finetune: error: {empty}: the file has no records"
    assert not (tmp_path / "run").exists()
