"""End-to-end checks on the real embedded model (SmolLM2-135M-Instruct, CPU, ~1 minute in all)."""

import json
import threading
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from teamsrl_graph.cli import main
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evaluation.mia import auc
from teamsrl_graph.evolve.steps import gain_probabilities
from teamsrl_graph.models.factory import make_chat_model

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def test_local_model_batches_concurrent_calls():
    model = make_chat_model("local", max_tokens=8)
    engine = model.engine
    before = len(engine.batch_sizes)
    barrier, replies = threading.Barrier(4), [None] * 4

    def call(i):
        barrier.wait()
        replies[i] = model.invoke([HumanMessage(f"Name a colour. ({i})")])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(engine.batch_sizes[before:]) > 1
    assert all(r.text.strip() for r in replies)
    assert all(0 < r.usage_metadata["output_tokens"] <= 8 for r in replies)


def test_generate_on_two_seeds_respects_the_budget(tmp_path, capsys):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("Explain how tides are caused by the moon.\nDescribe how to make a paper airplane.\n")
    out = tmp_path / "run"
    code = main(["generate", "--seeds", str(seeds), "--out", str(out), "--budget", "9", "--max-steps", "2"])
    assert code == 0
    records = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    report = json.loads((out / "report.json").read_text())
    assert len(records) == 2 and report["queries"]["total"] <= 9
    assert report["queries"]["total"] == sum(r["queries"] for r in records)
    assert report["accepted"] + report["eliminated"] == sum(len(r["path"]) for r in records) >= 2
    for r in records:
        assert r["response"].strip()
        assert all(step["reason"] for step in r["path"])
        accepted = [s["candidate"] for s in r["path"] if s["accepted"]]
        assert r["instruction"] == (accepted[-1] if accepted else r["seed"])
    assert "records" in capsys.readouterr().out


def test_default_reviewer_tells_gains_from_paraphrases():
    pairs = [json.loads(line) for line in (ROOT / "tests" / "data" / "review_pairs.jsonl").read_text().splitlines()]
    scores = gain_probabilities(Context(), pairs)
    pos = [s for s, p in zip(scores, pairs) if p["gain"]]
    neg = [s for s, p in zip(scores, pairs) if not p["gain"]]
    assert auc(pos, neg) >= 0.7


def test_pit_prefs_on_the_real_model(tmp_path, capsys):
    data = tmp_path / "instructions.jsonl"
    data.write_text("".join(json.dumps({"instruction": t}) + "\n" for t in ("Name a fruit.", "Describe the sea.")))
    out = tmp_path / "prefs.jsonl"
    code = main(["pit", "prefs", "--data", str(data), "--out", str(out), "--samples", "2", "--answer-tokens", "24",
                 "--min-margin", "0", "--budget", "8"])
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert 1 <= len(rows) <= 2 and all(r["chosen"] != r["rejected"] and r["margin"] >= 0 for r in rows)
    assert "queries" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["pit", "self-refine"])
def test_improve_loop_on_the_real_model(tmp_path, mode):
    """One improvement round through the real graph: Self-Refine with the embedded model, and PIT
    with an adapter on the embedded model (freshly initialised) plus a gap model trained on a few pairs."""
    from teamsrl_graph.running.run import generate

    pit = None
    if mode == "pit":
        from peft import get_peft_model

        from teamsrl_graph.common.lora import LoraSettings
        from teamsrl_graph.models import local
        from teamsrl_graph.pit.gap import train_gap
        from teamsrl_graph.pit.preferences import Preference

        pit = tmp_path / "pit"
        model, _ = local.load()
        get_peft_model(model, LoraSettings().peft_config()).save_pretrained(pit / "improver")
        pairs = [Preference(f"Name {n} fruits.", ", ".join(["apple", "pear", "plum", "fig"][:n]) + ".", "I like food.")
                 for n in range(1, 5)]
        train_gap(pairs)[0].save(pit / "gap")
    context = Context(max_steps=0, improve=mode, pit=str(pit) if pit else None, improve_rounds=1,
                      answer_tokens=24, improve_tokens=24, budget=4)
    [record] = generate(["Name three fruits."], context=context, progress=False)
    assert record["draft"] and len(record["improvements"]) == 1
    round_ = record["improvements"][0]
    assert round_["mode"] == mode
    assert round_["reason"] in {"pit": ("improved", "no_gap"), "self-refine": ("improved", "satisfied")}[mode] \
        or round_["reason"].startswith("bad_answer:")
    assert round_["accepted"] == (round_["reason"] == "improved")
    if mode == "pit":
        assert record["queries"] == 2
        if not round_["reason"].startswith("bad_answer:"):  # a usable rewrite is scored, and the score decides
            assert isinstance(round_["gap"], float) and (round_["reason"] == "improved") == (round_["gap"] > 0.0)
    assert record["response"] == (round_["candidate"] if round_["accepted"] else record["draft"])
    assert record["queries"] <= 4
