"""Paired comparison of base and fine-tuned: the statistics, the constrained items, and evaluate() with
held-out constrained prompts and IFBench on a tiny model (shape, verification, answer cache)."""

from __future__ import annotations

import json
import math

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.evaluation import constrained, paired
from teamsrl_graph.evaluation.paired import mcnemar


def outcomes(gained: int, lost: int, both: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Per-prompt pass/fail of base and fine-tuned with the given counts of each kind of pair."""
    base = [False] * gained + [True] * lost + [True] * both + [False] * neither
    tuned = [True] * gained + [False] * lost + [True] * both + [False] * neither
    return base, tuned


def exact_p(gained: int, lost: int) -> float:
    """Two-sided binomial test at one half, by enumerating every split of the discordant pairs."""
    n = gained + lost
    probability = [math.comb(n, k) / 2 ** n for k in range(n + 1)]
    observed = probability[gained]
    return min(1.0, sum(p for p in probability if p <= observed + 1e-15)) if n else 1.0


@pytest.mark.parametrize("gained, lost, p", [
    (12, 2, 0.0129),  # 2 * (C(14,0) + C(14,1) + C(14,2)) / 2^14
    (2, 12, 0.0129),  # symmetric
    (5, 0, 0.0625),  # 2 / 2^5
    (10, 1, 0.0117),  # 2 * 12 / 2^11
    (3, 3, 1.0),
    (1, 0, 1.0),  # 2 * 1/2, capped at 1
    (0, 0, 1.0),  # no discordant pair: nothing to test
])
def test_mcnemar_known_values(gained, lost, p):
    assert mcnemar(gained, lost) == pytest.approx(p, abs=1e-4)
    assert mcnemar(gained, lost) == pytest.approx(exact_p(gained, lost))


@pytest.mark.parametrize("gained, lost, both, neither, expected", [
    (12, 2, 6, 10, {"n": 30, "base": 0.2667, "finetuned": 0.6, "difference": 0.3333, "p_value": 0.012939}),
    (0, 0, 7, 3, {"n": 10, "base": 0.7, "finetuned": 0.7, "difference": 0.0, "p_value": 1.0}),
    (0, 4, 0, 0, {"n": 4, "base": 1.0, "finetuned": 0.0, "difference": -1.0, "p_value": 0.125}),
    (3, 1, 20, 76, {"n": 100, "base": 0.21, "finetuned": 0.23, "difference": 0.02, "p_value": 0.625}),
])
def test_paired_counts_accuracies_and_p_value(gained, lost, both, neither, expected):
    result = paired(*outcomes(gained, lost, both, neither))
    assert {k: result[k] for k in expected} == expected
    assert (result["gained"], result["lost"]) == (gained, lost)
    low, high = result["interval"]
    assert low <= result["difference"] <= high


@pytest.mark.parametrize("gained, lost, both, neither", [(12, 2, 6, 10), (30, 20, 100, 50), (3, 1, 20, 76)])
def test_bootstrap_interval_matches_the_normal_approximation_and_is_seeded(gained, lost, both, neither):
    base, tuned = outcomes(gained, lost, both, neither)
    n = len(base)
    d = (gained - lost) / n
    se = math.sqrt(((gained + lost) / n - d * d) / n)  # standard error of a mean of -1/0/+1 values
    low, high = paired(base, tuned)["interval"]
    assert low == pytest.approx(d - 1.96 * se, abs=0.03) and high == pytest.approx(d + 1.96 * se, abs=0.03)
    assert paired(base, tuned)["interval"] == [low, high]  # seeded: the same answers, the same interval


def test_no_discordant_pair_gives_a_point_interval():
    assert paired(*outcomes(0, 0, 5, 5))["interval"] == [0.0, 0.0]


@pytest.mark.parametrize("base, tuned", [([True], [True, False]), ([], [])])
def test_paired_rejects_unmatched_or_empty_lists(base, tuned):
    with pytest.raises(ValueError):
        paired(base, tuned)


# -- constrained items -------------------------------------------------------------------------

LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
WORDS = {"id": "length_constraints:number_words", "kwargs": {"relation": "at least", "num_words": 5}}


@pytest.mark.parametrize("line, field", [
    ('{"constraints": [{"id": "change_case:english_lowercase", "kwargs": {}}]}', "prompt"),
    ('{"prompt": "  ", "constraints": [{"id": "change_case:english_lowercase", "kwargs": {}}]}', "prompt"),
    ('{"prompt": "Say hi.", "constraints": []}', "constraints"),
    ('{"prompt": "Say hi.", "constraints": [{"id": "no:such", "kwargs": {}}]}', "constraints[0].id"),
    ('{"prompt": "Say hi.", "constraints": [{"id": "length_constraints:number_words", '
     '"kwargs": {"relation": "at least", "num_words": "five"}}]}', "constraints[0].kwargs.num_words"),
])
def test_a_bad_item_names_file_line_and_field(tmp_path, line, field):
    good = json.dumps({"prompt": "Write a note.", "constraints": [LOWER]})
    path = tmp_path / "items.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(InputError) as error:
        constrained.load(path)
    assert (error.value.path, error.value.line, error.value.field) == (path, 2, field)


def test_items_load_from_a_file_or_a_list(tmp_path):
    items = [{"prompt": "Write a note.", "constraints": [LOWER, WORDS]}]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    assert constrained.load(path) == constrained.load(items) == items
    with pytest.raises(InputError):
        constrained.load([])


def test_score_verifies_each_answer_and_breaks_down_by_type():
    items = [{"prompt": "a", "constraints": [LOWER]}, {"prompt": "b", "constraints": [LOWER, WORDS]},
             {"prompt": "c", "constraints": [WORDS]}]
    answers = {"base": ["Not Lowercase", "one two three four five", "too short"],
               "finetuned": ["all lowercase here", "Short", "one two three four five six"]}
    report, rows = constrained.score(items, answers)
    assert [(r["base_strict"], r["finetuned_strict"]) for r in rows] == [(False, True), (True, False), (False, True)]
    assert (report["n"], report["gained"], report["lost"], report["base"], report["finetuned"]) == (3, 2, 1, 0.3333, 0.6667)
    assert report["loose"]["n"] == 3
    assert report["by_type"][LOWER["id"]] | {"interval": None, "p_value": None} == {
        "n": 2, "base": 0.5, "finetuned": 0.5, "difference": 0.0, "gained": 1, "lost": 1, "interval": None, "p_value": None}
    assert (report["by_type"][WORDS["id"]]["gained"], report["by_type"][WORDS["id"]]["lost"]) == (1, 1)
    assert rows[1]["finetuned"] == "Short" and rows[1]["constraints"] == [LOWER, WORDS]


# -- evaluate() on a tiny model ----------------------------------------------------------------

ITEMS = [
    {"prompt": "Describe a quiet harbour at dawn.", "constraints": [LOWER]},
    {"prompt": "List three uses of a paperclip.",
     "constraints": [{"id": "length_constraints:number_words", "kwargs": {"relation": "at least", "num_words": 400}}]},
    {"prompt": "Explain why bread rises.", "constraints": [{"id": "punctuation:no_comma", "kwargs": {}}, WORDS]},
]


def test_evaluate_compares_on_constrained_prompts_and_ifbench_and_caches_answers(tiny_model, tmp_path, monkeypatch):
    from teamsrl_graph.constraints import verify
    from teamsrl_graph.evaluation import EvalConfig, answer_cache, evaluate, headline, judge, table
    from teamsrl_graph.common.files import write_jsonl
    from teamsrl_graph.sft import SFTRunConfig, finetune

    from conftest import RECORDS

    monkeypatch.setattr(answer_cache, "cache_dir", lambda: tmp_path / "cache")
    generated = []  # (description, prompts) of every generation call
    real = judge.generate_answers

    def counting(generator, conversations, max_new_tokens, batch_size, desc="answers"):
        generated.append((desc, len(conversations)))
        return real(generator, conversations, max_new_tokens, batch_size, desc)

    monkeypatch.setattr(judge, "generate_answers", counting)
    hashed = []  # adapters hashed for the answer cache's key
    digest = answer_cache.adapter_sha256
    monkeypatch.setattr(answer_cache, "adapter_sha256", lambda folder: hashed.append(folder) or digest(folder))
    run = finetune(RECORDS[:3], tmp_path / "run", SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=3,
                                                              learning_rate=1e-2))
    items = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    config = EvalConfig(judge="", constrained=str(items), answer_tokens=8, ifbench=2, ifbench_tokens=8)
    result = evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "eval", config)

    assert sorted(generated) == sorted([("heldout_constrained (base)", 3), ("heldout_constrained (fine-tuned)", 3),
                                        ("ifbench (base)", 2), ("ifbench (fine-tuned)", 2)])
    assert hashed == [run.adapter_dir]  # once for both answer sets
    assert json.loads((tmp_path / "eval" / "eval.json").read_text()) == result
    summary = headline(result)
    assert list(summary) == ["heldout_constrained", "ifbench", "reference_loss"]
    for part in ("heldout_constrained", "ifbench"):
        assert set(summary[part]) == {"n", "base", "finetuned", "p_value", "interval", "gained", "lost"}
    assert (summary["heldout_constrained"]["n"], summary["ifbench"]["n"]) == (3, 2)
    assert set(summary["reference_loss"]) == {"base", "finetuned"}
    assert set(result["heldout_constrained"]["by_type"]) == {c["id"] for i in ITEMS for c in i["constraints"]}
    rows = [json.loads(line) for line in (tmp_path / "eval" / "constrained_answers.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == [i["prompt"] for i in ITEMS]
    for row in rows:  # every verdict is the verifier's on the saved answer
        for side in ("base", "finetuned"):
            assert row[f"{side}_strict"] == verify(row[side], row["constraints"])["strict"]
    assert not rows[1]["base_strict"] and not rows[1]["finetuned_strict"]  # 8 tokens cannot make 400 words
    assert sum(r["finetuned_strict"] for r in rows) / 3 == pytest.approx(result["heldout_constrained"]["finetuned"], abs=1e-4)
    assert len((tmp_path / "eval" / "ifbench_answers.jsonl").read_text().splitlines()) == 2
    text = table(result)
    assert "held-out constrained, prompt-level strict (3 prompts)" in text and "IFBench, prompt-level loose (2 prompts)" in text

    generated.clear()  # the same adapter and settings again (a stopped evaluation run again): every answer is cached
    again = evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "again", config)
    assert generated == []
    assert again["heldout_constrained"] == result["heldout_constrained"] and again["ifbench"] == result["ifbench"]

    generated.clear()  # another adapter of the same base model: only its own answers are made
    other = finetune(RECORDS[:3], tmp_path / "run2", SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=3,
                                                                 learning_rate=1e-2, seed=1))
    evaluate(other.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "second", config)
    assert sorted(generated) == sorted([("heldout_constrained (fine-tuned)", 3), ("ifbench (fine-tuned)", 2)])

    generated.clear()  # another answer length for the constrained prompts: both sides answer them again
    config.answer_tokens = 6
    evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "other", config)
    assert sorted(generated) == sorted([("heldout_constrained (base)", 3), ("heldout_constrained (fine-tuned)", 3)])

    generated.clear()  # with the caches off, both sides answer everything, and no adapter is hashed
    hashed.clear()
    config.cache_base = config.cache_finetuned = False
    evaluate(run.adapter_dir, RECORDS[3:], RECORDS[:3], tmp_path / "uncached", config)
    assert len(generated) == 4 and hashed == []


def test_bad_constrained_items_fail_before_any_model_loads(tmp_path):
    from teamsrl_graph.evaluation import EvalConfig, evaluate

    from conftest import RECORDS

    with pytest.raises(InputError) as error:
        evaluate(tmp_path / "no-adapter", RECORDS[3:], RECORDS[:3], tmp_path / "eval",
                 EvalConfig(judge="", constrained=[{"prompt": "x", "constraints": [{"id": "no:such"}]}]))
    assert error.value.field == "constraints[0].id" and not (tmp_path / "eval").exists()


@pytest.mark.parametrize("value, count", [("all", -1), ("ALL", -1), ("-1", -1), ("0", 0), ("276", 276)])
def test_cli_eval_takes_the_constrained_file_and_the_ifbench_size(value, count):
    from teamsrl_graph.cli import build_parser

    args = build_parser().parse_args(["eval", "--run", "r", "--constrained", "items.jsonl", "--ifbench", value,
                                      "--answer-tokens", "64", "--batch-size", "48"])
    assert (args.constrained, args.ifbench, args.answer_tokens, args.batch_size) == ("items.jsonl", count, 64, 48)


@pytest.mark.parametrize("flags, cached", [([], True), (["--no-cache"], False)])
def test_cli_eval_no_cache_turns_both_answer_caches_off(flags, cached, tmp_path, monkeypatch):
    import teamsrl_graph.evaluation as evaluation
    from teamsrl_graph.cli import main

    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    seen = []

    def stop(adapter, heldout, train, out, config):  # the settings the command built; no model loads
        seen.append(config)
        raise InputError("stopped here")

    monkeypatch.setattr(evaluation, "evaluate", stop)
    assert main(["eval", "--run", str(tmp_path), "--judge", "", *flags]) == 2
    assert [(c.cache_base, c.cache_finetuned) for c in seen] == [(cached, cached)]


@pytest.mark.parametrize("value", ["some", "-2", "1.5"])
def test_cli_eval_rejects_a_bad_ifbench_size(value, capsys):
    from teamsrl_graph.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "--run", "r", "--ifbench", value])
    assert "--ifbench" in capsys.readouterr().err


class LengthTokenizer:
    """A stand-in tokenizer: a conversation's prompt ids are one id per character of its user turn."""

    def apply_chat_template(self, messages, add_generation_prompt=True, continue_final_message=False, tokenize=True):
        return [7] * len(messages[-1]["content"])


class EchoGenerator:
    """Answers each prompt with its length and records the rows of every batch."""

    tokenizer = LengthTokenizer()
    max_batch = 32

    def __init__(self):
        self.batches = []

    def run_batch(self, prompts, max_new_tokens, temperature=0.0):
        from types import SimpleNamespace

        self.batches.append([len(p) for p in prompts])
        return [SimpleNamespace(text=f" {len(p)} ") for p in prompts]


def test_answers_come_in_full_batches_of_similar_length_and_in_the_given_order():
    from teamsrl_graph.evaluation.judge import generate_answers

    lengths = [(i * 37) % 90 + 1 for i in range(70)]  # 70 prompts of scattered lengths
    asked = [{"messages": [{"role": "user", "content": "x" * n}, {"role": "assistant", "content": ""}]} for n in lengths]
    generator = EchoGenerator()
    answers = generate_answers(generator, asked, 8, 32)
    assert answers == [str(n) for n in lengths]  # each answer back in its prompt's place
    assert [len(b) for b in generator.batches] == [32, 32, 6]  # as wide as the work allows
    flat = [n for batch in generator.batches for n in batch]
    assert flat == sorted(lengths, reverse=True)  # similar lengths together: little left padding


def test_a_long_prompt_is_answered_in_a_batch_of_few_rows():
    from teamsrl_graph.evaluation.judge import generate_answers
    from teamsrl_graph.models.offline import MAX_BATCH_TOKENS

    lengths = [40] * 40 + [MAX_BATCH_TOKENS // 4]  # one prompt a quarter of the cap among short ones
    asked = [{"messages": [{"role": "user", "content": "x" * n}, {"role": "assistant", "content": ""}]} for n in lengths]
    generator = EchoGenerator()
    answers = generate_answers(generator, asked, 8, 32)
    assert answers == [str(n) for n in lengths]
    assert [len(b) for b in generator.batches] == [4, 32, 5]  # the long one pads 4 rows, not 32
