"""benchmarks/trainers.py end to end on a tiny Llama built from a config: every method gets the same
instructions and samples and the same optimizer steps, each row is paired with its own baseline,
--reuse makes only what is missing, and bad options stop with a clear error.

The training samples come from a scripted sampler (the tiny model's random tokens never meet a
constraint): per instruction, texts from a fixed pool ranked by how many of its constraints they meet,
so that some samples pass and compliance tells some apart. Everything else is real: HIR's trainer,
trl's GRPOTrainer, PIT, the graph's improvement loop, the verifiers and the paired test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Spy
from test_benchmark_results import BENCHMARKS, script

from teamsrl_graph.commands.pipeline import heldout_constrained
from teamsrl_graph.constraints import verify

INSTRUCTIONS, STEPS, BUDGETS = 12, 2, (2, 3)
POOL = ["yes", "YES", '"quoted words here"', "<<A Title>>\nA short line of text.", "* one\n* two\n* three",
        "Hello, World. This Has Commas, And Capitals.", "first paragraph\n\n***\n\nsecond paragraph", "My answer is yes."]


def args(model, out, *extra) -> list[str]:
    return ["--model", str(model), "--out", str(out), "--instructions", str(INSTRUCTIONS), "--steps", str(STEPS),
            "--samples", *map(str, BUDGETS), "--batch-size", "4", "--lr", "0.05", "--heldout", "6", "--ifbench", "4",
            "--tokens", "8", "--rounds", "1", "--pit-steps", "1", "1", "--result", "", *extra]


def scripted_sampler(calls: list):
    """`models.offline.sample`'s stand-in: the pool's texts for each training instruction, the one
    meeting most of its constraints first, then the one meeting fewest, then the rest."""
    constraints = {i["prompt"]: i["constraints"] for i in heldout_constrained(INSTRUCTIONS, 0, tasks="seeds", split="train")}

    def sample(model, tokenizer, prompts, n, temperature, max_new_tokens, batch_size, seed=0, desc=None):
        calls.append(list(prompts))
        out = []
        for prompt in prompts:
            ranked = sorted(POOL, key=lambda t: -sum(r["strict"] for r in verify(t, constraints[prompt])["results"]))
            out.append(([ranked[0], ranked[-1]] + ranked[1:-1])[:n])
        return out
    return sample


def spies(mp, m, refuse: bool = False) -> dict:
    import teamsrl_graph.models.offline as offline
    import teamsrl_graph.running.improve as improve
    from teamsrl_graph.pit.trainer import PITTrainer

    found = {"supervised": Spy(m.train_supervised, refuse), "grpo": Spy(m.train_grpo, refuse),
             "answers": Spy(m.answer_sets), "improve": Spy(improve.improve_answers, refuse),
             "pit": Spy(PITTrainer.train, refuse), "sampled": []}
    mp.setattr(m, "train_supervised", found["supervised"])
    mp.setattr(m, "train_grpo", found["grpo"])
    mp.setattr(m, "answer_sets", found["answers"])
    mp.setattr(improve, "improve_answers", found["improve"])
    mp.setattr(PITTrainer, "train", lambda self: found["pit"](self))
    mp.setattr(offline, "sample", Spy(scripted_sampler(found["sampled"]), refuse))
    return found


@pytest.fixture(scope="module")
def run(tiny_model, tmp_path_factory):
    m, out = script("trainers"), tmp_path_factory.mktemp("trainers")
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m)
        assert m.main(args(tiny_model, out)) == 0
    return m, out, json.loads((out / "report.json").read_text()), calls


def test_the_main_jobs_draw_asks_for_fewer_constraints_of_the_types_met_sometimes():
    """--draw main-job: counts near 3:2:1 and types the pass-rate table puts between always and never
    met drawn more often than uniformly; --draw uniform is the evaluation's own draw, unchanged."""
    m = script("trainers")
    table = json.loads(m.PASS_RATES.read_text())
    rate = {row[0]: row[3] for row in table["rows"]}
    base = ["--instructions", "600", "--steps", "40"]
    uniform, main_job = (m.training_items(m.parse_args([*base, "--draw", draw])) for draw in ("uniform", "main-job"))
    assert uniform == heldout_constrained(600, 0, tasks="seeds", split="train")
    assert [i["task"] for i in main_job] == [i["task"] for i in uniform]  # the same seeds, other constraints

    def shares(items):
        sizes = [len(i["constraints"]) for i in items]
        types = [c["id"] for i in items for c in i["constraints"]]
        middle = sum(0.25 <= rate[t] <= 0.75 for t in types) / len(types)
        never = sum(rate[t] == 0 for t in types) / len(types)
        return sizes.count(1) / len(sizes), sizes.count(3) / len(sizes), middle, never

    one_u, three_u, middle_u, never_u = shares(uniform)
    one_m, three_m, middle_m, never_m = shares(main_job)
    assert 0.42 < one_m and three_m < 0.25 and one_m > one_u + 0.1 and three_m < three_u - 0.05
    assert middle_m > middle_u + 0.05 and never_m < never_u
    assert never_m > 0  # the floor keeps every type in the draw
    assert len({c["id"] for i in main_job for c in i["constraints"]}) == len(rate)


def test_the_report_gives_the_training_instructions_mix(run):
    m, out, report, calls = run
    items = heldout_constrained(INSTRUCTIONS, 0, tasks="seeds", split="train")
    mix = report["training_mix"]
    assert mix["mean_constraints"] == round(sum(len(i["constraints"]) for i in items) / INSTRUCTIONS, 3)
    assert sum(mix["types"].values()) == sum(len(i["constraints"]) for i in items) and mix["entropy_bits"] > 0
    assert report["settings"]["draw"] == "uniform" and "drawn uniformly" in m.summary(report)
    assert "main job" not in m.result_of(report)["title"]
    drawn = {**report, "settings": {**report["settings"], "draw": "main-job"}}  # the result says how it drew
    assert m.result_of(drawn)["title"].endswith("drawn as the main job draws them")
    assert "as the main job draws them" in m.summary(drawn) and "uniformly" not in m.summary(drawn)


def rows_of(report: dict) -> dict:
    return {(r["method"], r["samples"]): r for r in report["rows"]}


def test_every_method_gets_the_same_instructions_and_samples(run):
    m, out, report, calls = run
    drawn = json.loads((out / "samples.json").read_text())
    prompts = [i["prompt"] for i in heldout_constrained(INSTRUCTIONS, 0, tasks="seeds", split="train")]
    assert drawn["prompts"] == prompts and calls["sampled"] == [prompts]  # drawn once, at the largest budget
    given = {(a[0], a[1]): (a[2], a[3]) for a, _ in calls["supervised"].calls}
    assert sorted(given) == sorted((method, k) for method in ("sft-verified", "hir") for k in BUDGETS)
    for items, samples in given.values():
        assert [i["prompt"] for i in items] == prompts and samples == drawn["samples"]
    assert sorted(a[0] for a, _ in calls["grpo"].calls) == list(BUDGETS)
    assert all([i["prompt"] for i in a[1]] == prompts for a, _ in calls["grpo"].calls)
    rows = rows_of(report)
    for k in BUDGETS:
        first_k = m.fingerprint([s[:k] for s in drawn["samples"]])
        trained = [rows[(method, k)] for method in m.METHODS]
        assert {r["data"]["instructions"] for r in trained} == {m.fingerprint(prompts)}
        assert rows[("sft-verified", k)]["data"]["samples"] == rows[("hir", k)]["data"]["samples"] == first_k
        assert {r["answers_drawn"] for r in trained} == {INSTRUCTIONS * k}  # rlvr samples as many itself
    assert report["pit"]["data"]["samples"] == m.fingerprint([s[:max(BUDGETS)] for s in drawn["samples"]])
    pairs = [json.loads(line) for line in (out / "pit" / "preferences.jsonl").read_text().splitlines()]
    assert len(pairs) == report["pit"]["pairs"] >= 2
    for pair in pairs:
        answers = drawn["samples"][prompts.index(pair["prompt"])]
        assert pair["chosen"] in answers and pair["rejected"] in answers


def test_every_trained_method_takes_the_same_optimizer_steps(run):
    m, out, report, _ = run
    for k in BUDGETS:
        for method in m.METHODS:
            training = json.loads((out / f"{method}-k{k}" / "training.json").read_text())
            assert training.get("pairs", 1) > 0, (method, k)  # each had something to train on
            assert rows_of(report)[(method, k)]["steps"] == training["steps"] == STEPS, (method, k)
    assert report["pit"]["sft_steps"] == STEPS  # PIT's SFT stage too, at the same batch size
    assert m.result_of(report)["title"] == "Every trainer on the same samples"  # a run of every row
    assert report["pit"]["rl_steps"] == [1, 1]


def test_each_row_is_paired_with_its_own_baseline(run):
    m, out, report, calls = run
    from teamsrl_graph.evaluation.evaluator import ifbench_rows
    from teamsrl_graph.evaluation.paired import paired

    held = heldout_constrained(6, 1000)
    rows = ifbench_rows(4)
    base = json.loads((out / "base" / "answers.json").read_text())
    for (a, _) in calls["improve"].calls:  # both improvers start from the original answers: the base model's
        assert a[1] == base["heldout_constrained"] + base["ifbench"]
    base_v = m.verdicts(base, held, rows)
    files = {**{(method, k): out / f"{method}-k{k}" / "answers.json" for method in m.METHODS for k in BUDGETS},
             **{(mode, None): out / mode / "answers.json" for mode in m.IMPROVERS}}
    differ = 0
    for key, path in files.items():
        row = rows_of(report)[key]
        assert row["baseline"] == ("original" if key[0] in m.IMPROVERS else "base")
        answers = json.loads(path.read_text())
        for s, verdicts in m.verdicts(answers, held, rows).items():
            assert row[s] == paired(base_v[s], verdicts), (key, s)
            differ += row[s]["gained"] + row[s]["lost"]
    assert differ  # some answers changed, so a swapped or wrong baseline would show
    improved = {mode: m.verdicts(json.loads((out / mode / "answers.json").read_text()), held, rows) for mode in m.IMPROVERS}
    for s, verdicts in improved["pit"].items():  # and the improvers head to head, Self-Refine the baseline
        assert report["pit_vs_self_refine"][s] == paired(improved["self-refine"][s], verdicts), s
    original = rows_of(report)[("original", None)]
    assert original["heldout_constrained"]["finetuned"] == pytest.approx(sum(base_v["heldout_constrained"]) / 6, abs=1e-4)
    table = m.table_rows(report)
    assert [r[0] for r in table] == [*(method for k in BUDGETS for method in m.METHODS), "pit", "self-refine", "original"]


def test_reuse_makes_only_what_is_missing(run, tiny_model):
    m, out, report, _ = run
    (out / "hir-k2" / "answers.json").unlink()  # as if killed after training hir at k=2, before answering
    adapter = (out / "hir-k2" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m, refuse=True)  # sampling, training, PIT and improving would raise
        assert m.main(args(tiny_model, out, "--reuse")) == 0
    assert [a[4] for a, _ in calls["answers"].calls] == ["hir-k2"]  # only the missing answers were made
    assert (out / "hir-k2" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == adapter
    again = json.loads((out / "report.json").read_text())
    assert again["rows"] == report["rows"] and again["pit"] == report["pit"]


def test_reuse_reports_any_budgets_cut_from_the_same_draws(run, tiny_model, tmp_path):
    m, out, report, _ = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "report.json").unlink()
    fewer = args(tiny_model, copy, "--reuse", "--draws", str(max(BUDGETS)))
    fewer[fewer.index("--samples") + 1:fewer.index("--samples") + 1 + len(BUDGETS)] = [str(min(BUDGETS))]
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m, refuse=True)  # nothing is sampled, trained or improved again
        assert m.main(fewer) == 0
    assert not calls["answers"].calls
    again = json.loads((copy / "report.json").read_text())
    kept = [r for r in report["rows"] if r["samples"] in (None, min(BUDGETS))]
    assert again["rows"] == kept  # PIT's pairs still come from every draw:
    assert {**again["pit"], "folder": None} == {**report["pit"], "folder": None} and again["pit"]["samples"] == max(BUDGETS)
    assert again["settings"]["samples"] == [min(BUDGETS)] and again["settings"]["draws"] == max(BUDGETS)


def test_methods_left_out_are_neither_made_nor_reported_unless_already_there(run, tiny_model, tmp_path):
    m, out, report, _ = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    for part in ("report.json", f"hir-k{max(BUDGETS)}", "pit", "self-refine"):
        shutil.rmtree(copy / part) if (copy / part).is_dir() else (copy / part).unlink()
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m, refuse=True)  # nothing is sampled, trained or improved again
        assert m.main(args(tiny_model, copy, "--reuse", "--methods", "sft-verified")) == 0
    assert not calls["answers"].calls
    again = json.loads((copy / "report.json").read_text())
    gone = {("hir", max(BUDGETS)), ("pit", None), ("self-refine", None)}
    assert [r for r in report["rows"] if (r["method"], r["samples"]) not in gone] == again["rows"]
    assert again["pit"]["skipped"] == "not among --methods" and again["settings"]["methods"] == ["sft-verified"]


def test_a_run_of_rlvr_alone_draws_no_samples(tiny_model, tmp_path):
    m, out = script("trainers"), tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m)
        assert m.main(args(tiny_model, out, "--methods", "rlvr", "--samples", str(min(BUDGETS)))) == 0
    assert calls["sampled"] == [] and not (out / "samples.json").exists()  # GRPO samples its own groups
    assert [a[0] for a, _ in calls["grpo"].calls] == [min(BUDGETS)] and not calls["supervised"].calls
    report = json.loads((out / "report.json").read_text())
    assert [(r["method"], r["samples"]) for r in report["rows"]] == [("rlvr", min(BUDGETS)), ("original", None)]
    assert report["pit"]["skipped"].startswith("no samples drawn") and not calls["pit"].calls
    result = m.result_of(report)
    assert result["title"] == f"The trainers harness, rlvr at {min(BUDGETS)} samples"
    tied = json.loads((out / f"rlvr-k{min(BUDGETS)}" / "training.json").read_text())["tied_groups"]
    assert len(tied) == report["rows"][0]["steps"] and all(0 <= share <= 1 for share in tied)  # one share a step
    assert report["rows"][0]["tied_groups"] == pytest.approx(sum(tied) / len(tied), abs=1e-4)
    assert result["figures"][f"rlvr at {min(BUDGETS)} samples: groups whose answers all scored alike (mean share a "
                             "step)"] == report["rows"][0]["tied_groups"]
    assert f"rlvr: {report['instructions'] // report['settings']['steps']} instructions a step" in result["summary"]
    assert (out / f"rlvr-k{min(BUDGETS)}" / "adapter").is_dir()
    assert not (out / f"rlvr-k{min(BUDGETS)}" / "checkpoints").exists()  # removed once the adapter is saved


@pytest.mark.parametrize("reuse", [True, False])
def test_rlvr_resumes_in_its_checkpoint_folder_only_with_reuse(tiny_model, tmp_path, capsys, reuse):
    m, out = script("trainers"), tmp_path / "out"
    claimed = out / f"rlvr-k{min(BUDGETS)}" / "checkpoints" / "settings.json"
    claimed.parent.mkdir(parents=True)
    claimed.write_text(json.dumps({"items": "another run", "config": {}}))  # left by a run with other instructions
    extra = ["--methods", "rlvr", "--samples", str(min(BUDGETS)), *(["--reuse"] if reuse else [])]
    with pytest.MonkeyPatch.context() as mp:
        spies(mp, m)
        code = m.main(args(tiny_model, out, *extra))
    if reuse:  # resuming reads the folder, which belongs to another run
        assert code == 1 and f"{claimed}" in capsys.readouterr().err and claimed.is_file()
    else:  # a fresh run clears it
        assert code == 0 and not claimed.parent.exists() and (out / "report.json").is_file()


def test_improvers_can_be_run_on_one_set(run, tiny_model, tmp_path):
    m, out, report, _ = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    for part in ("report.json", "pit/answers.json", "self-refine"):
        shutil.rmtree(copy / part) if (copy / part).is_dir() else (copy / part).unlink()
    base = json.loads((copy / "base" / "answers.json").read_text())
    with pytest.MonkeyPatch.context() as mp:
        calls = spies(mp, m)
        calls["pit"].refuse = calls["supervised"].refuse = calls["grpo"].refuse = True  # only the improvers run
        assert m.main(args(tiny_model, copy, "--reuse", "--improve-on", "heldout_constrained")) == 0
    assert [a[1] for a, _ in calls["improve"].calls] == [base["heldout_constrained"]] * 2  # pit, then self-refine
    again = rows_of(json.loads((copy / "report.json").read_text()))
    for mode in m.IMPROVERS:
        assert again[(mode, None)]["ifbench"] is None and again[(mode, None)]["heldout_constrained"]["n"] == 6
    assert again[("original", None)]["ifbench"]["n"] == 4  # the original answers are still scored on both
    cells = {r[0]: r for r in m.table_rows(json.loads((copy / "report.json").read_text()))}
    assert cells["pit"][m.COLUMNS.index("IFBench n")] == 0 and cells["pit"][m.COLUMNS.index("held-out n")] == 6


def test_reuse_refuses_samples_drawn_for_other_instructions(run, tiny_model, tmp_path, capsys):
    m, out, _, _ = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    drawn = json.loads((copy / "samples.json").read_text())
    drawn["prompts"][0] += " (edited)"
    (copy / "samples.json").write_text(json.dumps(drawn))
    assert m.main(args(tiny_model, copy, "--reuse")) == 1
    assert "samples.json field 'prompts'" in capsys.readouterr().err


def test_reuse_refuses_parts_made_with_other_settings(run, tiny_model, capsys):
    m, out, _, _ = run
    assert m.main(args(tiny_model, out, "--reuse", "--steps", "3", "--instructions", "12")) == 1
    assert "other settings (steps)" in capsys.readouterr().err


@pytest.mark.parametrize("part", ["heldout", "seeds"])
def test_reuse_refuses_parts_made_for_other_prompts(run, tiny_model, part, capsys):
    import teamsrl_graph.commands.pipeline as pipeline

    m, out, _, _ = run
    real = pipeline.heldout_constrained

    def edited(n, seed, tasks="heldout_tasks", split="heldout"):  # one prompt of one set composed differently
        items = real(n, seed, tasks=tasks, split=split)
        if tasks.startswith(part):
            items[0] = {**items[0], "prompt": items[0]["prompt"] + "\n\nThe text it works on."}
        return items
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "heldout_constrained", edited)
        spies(mp, m, refuse=True)  # nothing stale is read back, nothing is made
        assert m.main(args(tiny_model, out, "--reuse")) == 1
    assert "other settings (data)" in capsys.readouterr().err


@pytest.mark.parametrize("bad, said", [
    (["--samples", "0"], "--samples: must be at least 2, got 0"),
    (["--samples", "4", "x"], "--samples: 'x' is not a whole number"),
    (["--samples", "2", "8", "--draws", "4"], "--draws (4) must be at least the largest --samples (8)"),
    (["--instructions", "10", "--steps", "4"], "must be a multiple of --steps"),
    (["--lr", "-1"], "--lr must be a positive number"),
    (["--ifbench", "-2"], "--ifbench: must be at least -1"),
    (["--methods", "sft"], "--methods: invalid choice: 'sft'"),
])
def test_bad_options_stop_with_a_clear_error(bad, said, capsys):
    m = script("trainers")
    with pytest.raises(SystemExit) as stopped:
        m.parse_args(bad)
    assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_a_bad_option_exits_non_zero_from_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(BENCHMARKS).parent)}
    command = [sys.executable, str(BENCHMARKS / "trainers.py"), "--samples", "0", "--out", str(tmp_path / "out"),
               "--model", str(tmp_path / "no-model")]  # were the option let through, the run would stop at once
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "must be at least 2" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing was written


@pytest.mark.parametrize("flags, skip_tied", [(["--skip-tied"], True), ([], False)])
def test_skip_tied_reaches_the_rlvr_row_and_its_summary(tiny_model, tmp_path, monkeypatch, flags, skip_tied):
    import teamsrl_graph.rlvr as rlvr

    m, configs, train = script("trainers"), [], rlvr.train_rlvr

    def recorded(items, config, *rest):
        configs.append(config)
        return train(items, config, *rest)

    monkeypatch.setattr(rlvr, "train_rlvr", recorded)
    out = tmp_path / "out"
    assert m.main(args(tiny_model, out, "--methods", "rlvr", "--samples", str(min(BUDGETS)), *flags)) == 0
    assert [c.skip_tied for c in configs] == [skip_tied]
    said = "groups whose answers all scored alike left out of the step"
    assert (said in m.result_of(json.loads((out / "report.json").read_text()))["summary"]) is skip_tied
