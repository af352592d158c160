"""benchmarks/router_downstream.py's parts that need no model: the measures of one dataset from hand-made
records, the learned-against-random comparison and its targets, the seeds it may use and its options."""

from __future__ import annotations

import math

import pytest
from test_benchmark_results import script

from teamsrl_graph.commands.pipeline import HELDOUT_SEED_OFFSET, defaults, heldout_constrained
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.dataio.seeds import load_seeds, shipped_tasks_path

m = script("router_downstream")
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
COMMA = {"id": "punctuation:no_comma", "kwargs": {}}


def rec(instruction, ops, constraints=(LOWER,), ok=True, usable=True, accepted=True, family=None):
    path = [{"op": op, "accepted": accepted, **({"family": family} if family and op == "add_constraints" else {})}
            for op in ops]
    return {"instruction": instruction, "path": path, "constraints": list(constraints), "constraints_ok": ok,
            "response_ok": usable, "response": "an answer" if usable else ""}


def report(expert=0, responder=0, reviewer=0, stops=None):
    by_role = {k: v for k, v in (("expert", expert), ("responder", responder), ("reviewer", reviewer)) if v}
    return {"queries": {"total": expert + responder + reviewer, "by_role": by_role}, "stops": stops}


# records, report, then what measures() must give (diversity is the number of texts it was given)
MEASURES = [
    ([rec("a", ["deepen"]), rec("b", ["concretize", "deepen"], (LOWER, COMMA)),
      rec("c", ["deepen"], accepted=False),  # verified, but no evolution was accepted: not counted
      rec("d", ["breadth"], ok=False),  # missed a constraint
      rec("e", ["breadth"], constraints=()),  # carries no constraint: not verified
      rec("f", ["deepen"], usable=False)],  # the answer was refused
     report(expert=10, responder=8, reviewer=6),
     {"queries": 24, "expert_queries": 18, "records": 6, "verified": 2, "expert_per_verified": 9.0, "diversity": 2,
      "type_entropy": round(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3), 6),
      "types": {"change_case:english_lowercase": 2, "punctuation:no_comma": 1}, "families": None,
      "actions": {"counts": {"deepen": 4, "breadth": 2, "concretize": 1}, "entropy_bits": 1.378783, "largest": "deepen",
                  "largest_share": round(4 / 7, 4)}}),
    ([rec("a", ["deepen"], ok=False), rec("b", [], constraints=())], report(expert=3, responder=4),
     {"queries": 7, "expert_queries": 7, "verified": 0, "expert_per_verified": None, "diversity": 0, "type_entropy": 0.0,
      "types": {}, "actions": {"counts": {"deepen": 1}, "entropy_bits": 0.0, "largest": "deepen", "largest_share": 1.0}}),
    ([rec("a", ["add_constraints", "deepen"], family="format"), rec("b", ["add_constraints"], family="case"),
      rec("c", ["add_constraints"], family="format")], report(expert=6, responder=3, stops=[{"step": 0}]),
     {"verified": 3, "expert_per_verified": 3.0, "stops": [{"step": 0}],
      "families": {"counts": {"format": 2, "case": 1}, "entropy_bits": 0.918296, "largest": "format",
                   "largest_share": 0.6667}}),
]


def added(constraint, accepted=True) -> dict:
    return {"op": "add_constraints", "accepted": accepted, "constraint": constraint}


def answered(path, constraints, strict) -> dict:
    return {"path": path, "constraints": constraints,
            "verification": {"results": [{"id": c["id"], "strict": ok} for c, ok in zip(constraints, strict)]}}


# records, then (met, all) of the constraints accepted add_constraints steps added
ADDED = [
    ([answered([added(COMMA)], [LOWER, COMMA], [False, True])], (1, 1)),  # LOWER came before answering: not counted
    ([answered([added(COMMA)], [LOWER, COMMA], [True, False])], (0, 1)),
    ([answered([added(COMMA, accepted=False)], [LOWER, COMMA], [True, True])], (0, 0)),  # its evolution was eliminated
    ([answered([added(LOWER), added(COMMA)], [LOWER, COMMA], [True, True]),
      answered([{"op": "deepen", "accepted": True, "constraint": None}], [LOWER], [True]),
      {"path": [added(LOWER)], "constraints": [LOWER]}], (2, 2)),  # no verification: nothing to count
]


@pytest.mark.parametrize("records, expected", ADDED)
def test_the_constraints_add_constraints_added_and_how_many_were_met(records, expected):
    assert m.added_met(records) == {"met": expected[0], "all": expected[1]}


@pytest.mark.parametrize("records, made, expected", MEASURES)
def test_measures_of_one_dataset(records, made, expected):
    seen = []
    got = m.measures(records, made, diversity=lambda texts: seen.append(texts) or len(texts))
    assert {k: got[k] for k in expected} == expected
    assert seen == [[r["instruction"] for r in records if m.counted(r)]]  # diversity of the counted records only


def row(router, queries, per_verified, diversity, types, held, budget=1500, base=0.25):
    stats = None if held is None else {"heldout_constrained": {"base": base, "finetuned": held}}
    return {"router": router, "budget": budget, "queries": queries, "expert_per_verified": per_verified,
            "diversity": diversity, "type_entropy": types, "vs_base": stats}


def versus(difference):
    return {"heldout_constrained": {"base": 0.30, "finetuned": 0.30 + difference, "difference": difference, "gained": 9,
                                    "lost": 5, "p_value": 0.42, "interval": [-0.01, 0.05]}}


# rows, learned against random, then met per measure (expert, diversity, types, accuracy, sweep)
COMPARISONS = [
    ([row("random", 1500, 10.0, 0.80, 4.2, 0.30), row("policy", 1500, 4.0, 0.795, 3.9, 0.32),
      row("policy", 400, 5.0, 0.79, 3.8, 0.31, budget=400)], versus(0.02), [True, True, True, True, True]),
    ([row("random", 1500, 10.0, 0.80, 4.2, 0.30), row("policy", 1500, 6.0, 0.78, 3.0, 0.28),
      row("policy", 600, 5.0, 0.79, 3.8, 0.30, budget=600)], versus(-0.02), [False, False, False, False, False]),
    ([row("random", 1500, 10.0, 0.80, 4.0, 0.30), row("policy", 1500, 5.0, 0.79, 3.2, 0.30),  # exactly on every mark
      row("policy", 500, 5.0, 0.79, 3.8, 0.30, budget=500)], versus(0.0), [True, True, True, True, True]),
    ([row("random", 1500, 10.0, 0.80, 4.0, 0.30), row("policy", 1500, 5.0, 0.79, 3.2, 0.20),
      row("policy", 500, 5.0, 0.79, 3.8, 0.25, budget=500)], versus(-0.1), [True, True, True, False, False]),  # none reaches
    ([row("random", 1500, None, 0.80, 0.0, 0.30), row("policy", 1500, 5.0, 0.79, 3.2, 0.30)], None,
     [None, True, None, None, None]),  # random verified nothing; no sweep; not answered
    ([row("random", 1500, 10.0, 0.80, 4.0, 0.30, base=0.30), row("policy", 1500, 5.0, 0.79, 3.2, 0.30),
      row("policy", 400, 5.0, 0.79, 3.8, 0.31, budget=400)], versus(0.0), [True, True, True, True, None]),
    # random's fine-tune is no better than the base model: reaching its accuracy is not measured
]


@pytest.mark.parametrize("rows, paired, met", COMPARISONS)
def test_comparison_says_met_or_not_met(rows, paired, met):
    checks = m.comparison(rows, paired, 1500)
    assert [c["met"] for c in checks] == met
    assert [m.verdict(c) for c in checks] == [{True: "met", False: "not met", None: "not measured"}[x] for x in met]


def test_the_sweep_reports_the_fewest_queries_reaching_random():
    rows = [row("random", 1450, 10.0, 0.8, 4.0, 0.30), row("policy", 1500, 5.0, 0.8, 4.0, 0.35),
            row("policy", 980, 5.0, 0.8, 4.0, 0.31, budget=1000), row("policy", 470, 5.0, 0.8, 4.0, 0.29, budget=500)]
    sweep = m.comparison(rows, versus(0.05), 1500)[-1]
    assert (sweep["value"], sweep["target"], sweep["met"]) == (980, "≤ 1450 / 3", False)
    rows[0]["vs_base"]["heldout_constrained"]["base"] = 0.30  # random no better than base: nothing to reach
    sweep = m.comparison(rows, versus(0.05), 1500)[-1]
    assert (sweep["target"], sweep["met"]) == ("≤ 1450 / 3; random's fine-tune does not beat the base model", None)


def test_a_variant_is_compared_on_its_own_rows_and_has_no_sweep():
    rows = [row("random", 1450, 10.0, 0.8, 4.0, 0.30), row("policy", 1500, 5.0, 0.8, 4.0, 0.35),
            row("policy", 980, 5.0, 0.8, 4.0, 0.31, budget=1000), row("policy-draw", 1490, 20.0, 0.7, 2.0, 0.29)]
    checks = m.comparison(rows, versus(-0.01), 1500, router="policy-draw")
    assert checks[0]["name"] == "learned, types by the draw ÷ random expert queries per verified record"
    assert [c["value"] for c in checks[:3]] == [2.0, -0.1, 0.5] and [c["met"] for c in checks[:4]] == [False, False, False, False]
    assert (checks[-1]["value"], checks[-1]["met"]) == (None, None)  # below random's accuracy, and no sweep of its own


def priced(verified: int, failed: int, samples: int) -> list[dict]:
    """Records of one evolution each: `verified` that pass, `failed` that do not, `samples` answers each."""
    return [{**rec(f"t{i}", ["add_constraints"], ok=i < verified), "samples": samples} for i in range(verified + failed)]


@pytest.mark.parametrize("learned, random_, low, high", [
    (priced(40, 0, 1), priced(40, 0, 3), 0.5, 0.5),  # every record verified: no spread, 2 against 4 queries each
    (priced(30, 10, 1), priced(10, 30, 1), 0.15, 0.7),  # learned verifies three times as often: ratio near 1/3
    (priced(10, 10, 1), priced(10, 10, 1), 0.4, 2.5),  # alike: the interval holds 1
])
def test_the_expert_query_ratio_has_a_bootstrap_interval(learned, random_, low, high):
    assert sum(map(m.expert_queries, learned)) == len(learned) * (1 + learned[0]["samples"])
    interval = m.ratio_interval(learned, random_)
    assert low <= interval[0] <= interval[1] <= high
    if learned == random_:  # alike
        assert interval[0] < 1 < interval[1]
    assert interval == m.ratio_interval(learned, random_)  # seeded
    assert m.ratio_interval([], random_) is None and m.ratio_interval(priced(0, 5, 1), priced(0, 5, 1)) is None


@pytest.mark.parametrize("present", [["policy"], ["random", "fixed"]])
def test_no_comparison_without_both_routers(present):
    assert m.comparison([row(r, 1500, 5.0, 0.8, 4.0, 0.3) for r in present], None, 1500) is None


def test_the_default_seeds_are_unseen_and_apart_from_the_evaluation():
    args = m.parse_args([])
    seeds = m.seed_pool(args.seeds)
    assert len(seeds) >= 120 and len({s.instruction for s in seeds}) == len(seeds)
    held = heldout_constrained(args.constrained, args.seed + HELDOUT_SEED_OFFSET)
    heldout_tasks = {s.instruction for s in load_seeds(shipped_tasks_path("heldout_tasks"))}
    assert not heldout_tasks & {s.instruction for s in seeds}
    m.keep_apart([{"prompt": s.instruction, "task": s.instruction} for s in seeds], held, [], what="seeds")


def write(tmp_path, lines):
    path = tmp_path / "seeds.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_seed_the_policy_trained_on_is_refused(tmp_path):
    trained = load_seeds(shipped_tasks_path("seeds"))[3].instruction
    with pytest.raises(InputError) as refused:
        m.seed_pool([write(tmp_path, ["Explain how a lock and key work.", trained])])
    assert refused.value.field == "--seeds" and trained[:30] in str(refused.value)


@pytest.mark.parametrize("which", ["held-out task", "held-out prompt", "IFBench prompt"])
def test_keep_apart_refuses_a_seed_from_the_evaluation(which):
    held, rows = heldout_constrained(20, HELDOUT_SEED_OFFSET), [{"prompt": "Write a haiku about rain in lowercase."}]
    text = {"held-out task": held[4]["task"], "held-out prompt": held[7]["prompt"], "IFBench prompt": rows[0]["prompt"]}[which]
    seeds = [{"prompt": t, "task": t} for t in ("Explain how a lock and key work.", text)]
    with pytest.raises(InputError) as refused:
        m.keep_apart(seeds, held, rows, what="seeds", field="--seeds")
    assert refused.value.field == "--seeds" and "seeds overlap the evaluation" in str(refused.value)
    m.keep_apart(seeds[:1], held, rows, what="seeds", field="--seeds")  # the other one alone passes


def test_a_seed_from_the_evaluation_stops_the_run_before_anything_is_written(tmp_path, capsys):
    task = heldout_constrained(200, HELDOUT_SEED_OFFSET)[0]["task"]
    out = tmp_path / "out"
    code = m.main(["--seeds", write(tmp_path, [task]), "--out", str(out), "--result", "", "--ifbench", "0"])
    assert code == 1 and "seeds overlap the evaluation" in capsys.readouterr().err and not out.exists()


def test_options_default_to_the_main_job_and_a_sitting_may_choose_its_routers():
    args, main_job = m.parse_args([]), defaults()
    assert (args.constrained, args.ifbench, args.answer_tokens, args.budget) == (
        main_job.constrained, main_job.ifbench, main_job.answer_tokens, 1500) and args.constrained >= 200
    assert args.routers == ["policy", "random", "fixed", "policy-draw"] and args.sweep == []
    split = m.parse_args(["--routers", "policy", "--sweep", "500", "1500", "1000", "500"])
    assert split.sweep == [500, 1000]  # sorted, once each, the main cap left out
    assert m.settings(split) == m.settings(args)  # parts made in one sitting are reused by the next
    assert m.settings(m.parse_args(["--constrained", "100"])) != m.settings(args)


def test_the_same_seed_files_elsewhere_give_the_same_settings(tmp_path):
    here, there = tmp_path / "a" / "seeds.txt", tmp_path / "b" / "seeds.txt"
    for path in (here, there):
        path.parent.mkdir()
        path.write_text("Explain tides.\nDescribe a volcano.\n")
    assert m.settings(m.parse_args(["--seeds", str(here)])) == m.settings(m.parse_args(["--seeds", str(there)]))
    there.write_text("Explain tides.\nDescribe a glacier.\n")
    assert m.settings(m.parse_args(["--seeds", str(here)])) != m.settings(m.parse_args(["--seeds", str(there)]))


def test_build_report_pairs_each_model_with_the_base_and_learned_with_random():
    """Answers to four held-out instructions that must be lowercase: pass (True) or fail per model."""
    held = [{"prompt": f"Say something {i}, in lowercase.", "constraints": [LOWER], "task": "t"} for i in range(4)]
    passes = {"base": [False, False, True, True], "random": [True, False, False, True], "policy": [True, True, True, False]}

    def answers(name):
        return {"heldout_constrained": ["fine" if ok else "Fine" for ok in passes[name]], "ifbench": [],
                "reference_loss": 2.0}

    data = {"expert_per_verified": 4.0, "diversity": 0.8, "type_entropy": 4.0, "queries": 100, "expert_queries": 80,
            "verified": 20, "actions": None, "families": None, "stops": None}
    runs = {(r, 100): {"measures": data, "card": {"train_ids": ["a", "b"]}, "answers": answers(r),
                       "records": priced(10, 10, 1 if r == "policy" else 3)} for r in ("policy", "random")}
    report = m.build_report(m.parse_args(["--budget", "100"]), [1, 2, 3], held, [], answers("base"), runs, 1.0)
    rows = {r["router"]: r for r in report["rows"]}
    assert rows["policy"]["vs_base"]["heldout_constrained"]["gained"] == 2 and rows["policy"]["trained_on"] == 2
    assert rows["random"]["vs_base"]["heldout_constrained"]["lost"] == 1
    versus = report["versus_random"]["policy"]["heldout_constrained"]
    assert (versus["base"], versus["finetuned"], versus["gained"], versus["lost"]) == (0.5, 0.75, 2, 1)
    checks = report["comparisons"]["policy"]
    assert checks[3]["value"]["difference"] == 0.25 and checks[3]["met"]
    assert report["base"] == {"heldout_constrained": 0.5, "ifbench": None} and report["rows"][0]["vs_base"]["ifbench"] is None
    assert checks[0]["interval"] == m.ratio_interval(priced(10, 10, 1), priced(10, 10, 3))
    assert "(95% [" in m.shown_check(checks[0])
    result = m.result_of(report, 100)  # a sitting without IFBench and without the fixed router says so
    assert result["title"] == "Routers downstream: learned and random at 100 queries"
    assert "and no IFBench prompts," in result["summary"] and [r[0] for r in result["rows"]] == [
        "learned", "random (WizardLM)"]
    assert result["rows"][0][-2:] == ["-", "-"]
    report["rows"].append({**report["rows"][0], "router": "policy-draw"})  # the learned router twice: named once
    assert m.result_of(report, 100)["title"] == "Routers downstream: learned and random at 100 queries"
