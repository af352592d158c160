"""Can the learned router be told from random and fixed choice? Each router builds a dataset the main
job's way, each dataset gets the main job's fine-tune, each model the main job's paired evaluation.

1. Seeds no router was trained on: the shipped validation tasks (140; the policy trains on the shipped
   seeds only) and examples/unseen_seeds*.txt (24). A seed that is a shipped training seed, an
   evaluation prompt or a held-out task stops the run (`evaluation.apart.keep_apart`).
2. Each router (learned: the shipped policy naming families with its family head, where it has one;
   random: WizardLM's choice; fixed: TeaMs-RL's schedule; policy-draw: the shipped policy's
   operations, the run's type draw picking what add_constraints adds, as under random and fixed and
   as the main job runs it; the shipped policy, trained with the draw, has no family head, so the
   two learned routers route alike) builds a dataset from them under a cap of
   --budget queries with `teamsrl pipeline`'s generation settings (`pipeline.generation_settings`);
   `--sweep` adds caps for the learned router only.
3. Each dataset gets the main job's fine-tune (`pipeline.fine_tune`: its usable records, the same
   held-out share, plain LoRA at the pipeline's learning rate and epochs).
4. The main job's evaluation: --constrained held-out constrained instructions (held-out tasks and
   wordings, prompt level strict) and IFBench's offline-verifiable prompts (prompt level loose),
   answered greedily. The base model answers once; every fine-tuned model is paired with it, and the
   learned router's model with the random router's at --budget (gained / lost, exact McNemar p,
   bootstrap interval of the difference: `evaluation.paired`).

Per router: queries; expert queries (expert and responder roles: every rewrite and every answer
sample) per verified record (`records.verified`, with at least one accepted evolution); verified
records; their diversity (mean pairwise MiniLM cosine distance of their instructions) and constraint-
type entropy; the action mix (entropy in bits, largest share); the constraint-family mix where the
router names families; how many of the constraints add_constraints added were met (strict); and
where STOP fired (`evolve.stops`: share and verified yield per step).
Then each learned router (policy, policy-draw) against random at --budget, each printed as met or not
met: expert queries per verified
record (ratio <= 0.5, with a 95% bootstrap interval over seeds), diversity (learned >= random - 0.01),
type entropy (ratio >= 0.8), held-out accuracy at equal queries (learned >= random), and the fewest
queries at which a learned dataset's model reaches random's held-out accuracy (<= 1/3 of random's
queries; needs --sweep, and is not measured where random's fine-tune does not beat the base model).

Every part (dataset, adapter, answers) is written under --out when it is done (atomically);
`--reuse` reads back what is there, continues an interrupted generation and makes only the rest, so
a run can be split across sittings (a subset of --routers, the sweep later). Prints the table and
the comparison, writes OUT/report.json and a result file for the docs (`--result`; empty to skip).

    python benchmarks/router_downstream.py --budget 1500 --sweep 500 1000 --out runs/router_downstream
    python benchmarks/router_downstream.py --routers policy random --out runs/router_downstream --reuse
    python benchmarks/router_downstream.py --sweep 500 1000 --out runs/router_downstream --reuse
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

from teamsrl_graph.commands.options import at_least
from teamsrl_graph.common.errors import InputError, TeamsrlError
from teamsrl_graph.common.files import file_sha256, read_json_file, read_jsonl, write_json
from teamsrl_graph.common.parts import Parts
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints.drawing import entropy_bits, type_mix
from teamsrl_graph.dataio.records import verified
from teamsrl_graph.evaluation.apart import keep_apart
from teamsrl_graph.evaluation.compare import answer_sets, compare, load, verdicts

log = logging.getLogger("router_downstream")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# a router of this benchmark -> the Context settings it runs with ("policy": the shipped policy naming families
# with its family head; a policy trained with the type draw, as the shipped one is, has none and names none)
SETTINGS = {"policy": {"router": "policy", "families": "policy"}, "random": {"router": "random"},
            "fixed": {"router": "fixed"}, "policy-draw": {"router": "policy", "families": "draw"}}
ROUTERS = tuple(SETTINGS)
NAMES = {"policy": "learned", "random": "random (WizardLM)", "fixed": "fixed (TeaMs-RL release)",
         "policy-draw": "learned, types by the draw"}
LEARNED = ("policy", "policy-draw")  # the routers compared with random
GENERATION_BATCH = 32  # sequences answered together in the evaluation
TARGETS = {"expert": 0.5, "diversity": -0.01, "types": 0.8, "sweep": 1 / 3}  # see the module docstring


# -- options ---------------------------------------------------------------------------------------

def default_seeds() -> list[str]:
    from teamsrl_graph.dataio.seeds import shipped_tasks_path

    return [str(shipped_tasks_path("validation_tasks")), *map(str, sorted(EXAMPLES.glob("unseen_seeds*.txt")))]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from teamsrl_graph.commands.pipeline import defaults

    main_job = defaults()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", default=default_seeds(), help="seed files (default: the validation tasks "
                   "and examples/unseen_seeds*.txt)")
    p.add_argument("--budget", type=at_least(1), default=1500, help="query cap of every router's dataset")
    p.add_argument("--sweep", type=at_least(1), nargs="*", default=[], help="more query caps, for the learned router only")
    p.add_argument("--routers", nargs="+", choices=ROUTERS, default=list(ROUTERS))
    p.add_argument("--constrained", type=at_least(1), default=main_job.constrained,
                   help="held-out constrained instructions (default: the main job's)")
    p.add_argument("--ifbench", type=at_least(-1), default=main_job.ifbench,
                   help="IFBench prompts; -1 = all offline-verifiable (the main job's default), 0 = none")
    p.add_argument("--answer-tokens", type=at_least(1), default=main_job.answer_tokens,
                   help="new-token cap of the evaluation's answers (default: the main job's)")
    p.add_argument("--model", default="local", help="base model of the fine-tunes: local (the embedded model) or a folder")
    p.add_argument("--seed", type=int, default=0, help="the runs', the split's and the fine-tunes' seed")
    p.add_argument("--out", default="runs/router_downstream", help="folder of every part of the run")
    p.add_argument("--reuse", action="store_true", help="read back the parts already under --out; make only the rest")
    result_option(p, "results/router_downstream.json")
    args = p.parse_args(argv)
    args.routers = list(dict.fromkeys(args.routers))
    args.sweep = sorted(set(args.sweep) - {args.budget})
    return args


def seed_files(paths: list[str]) -> list[dict]:
    """Each seed file as its name and a hash of its bytes: a run resumed from another checkout (another
    path to the same files) reuses its parts; a changed file does not."""
    return [{"file": Path(p).name, "sha256": file_sha256(p)[:16]} for p in paths]


def settings(args) -> dict:
    """What the parts under --out depend on; which routers and caps a sitting makes is not among them."""
    from teamsrl_graph.commands.pipeline import generation_settings

    generation, concurrency = generation_settings()
    return {**{k: v for k, v in vars(args).items() if k not in ("out", "reuse", "result", "routers", "sweep", "budget")},
            "seeds": seed_files(args.seeds),
            "generation": {k: v for k, v in generation.items() if k not in ("router", "families", "budget")},
            "concurrency": concurrency}


# -- the parts of the run ------------------------------------------------------------------------

def seed_pool(paths: list[str]) -> list:
    """The seeds of `paths` (the first of repeated instructions); one the policy trained on is an InputError."""
    from teamsrl_graph.dataio.seeds import load_seeds, shipped_tasks_path

    seeds = list({s.instruction: s for path in reversed(paths) for s in reversed(load_seeds(path))}.values())[::-1]
    trained = {s.instruction for s in load_seeds(shipped_tasks_path("seeds"))}
    if overlap := [s.instruction for s in seeds if s.instruction in trained]:
        raise InputError(f"seeds the policy was trained on (the shipped seeds): {overlap[:3]}", field="--seeds")
    return seeds


def context_for(router: str, budget: int, args):
    """The main job's generation settings with this router, query cap and seed."""
    from teamsrl_graph.commands.pipeline import generation_settings
    from teamsrl_graph.evolve.context import Context

    generation, _ = generation_settings()
    return Context(**{**generation, **SETTINGS[router], "budget": budget, "seed": args.seed})


def dataset(store: Parts, name: str, router: str, budget: int, seeds, args) -> dict:
    """{"records", "report"} of one router's generation into NAME/generate: made, continued (--reuse and
    an interrupted one there) or read back (--reuse and a finished one there)."""
    from teamsrl_graph.commands.pipeline import generation_settings
    from teamsrl_graph.running.report import routing_policy
    from teamsrl_graph.running.run import generate

    folder = store.folder / name / "generate"
    if store.reuse and (folder / "report.json").is_file():  # a part another policy made is not this router's
        made_by = read_json_file(folder / "report.json")["settings"].get("policy")
        now = routing_policy(SETTINGS[router]["router"], None)  # the shipped policy: the runs name no other
        if made_by != now:
            raise InputError(f"{store.folder / name} was made with policy {made_by}, this router's is {now}; remove "
                             "that folder or choose another --out", field="--reuse")
    done = store.has(f"{name}/generate/report.json") and "interrupted" not in read_json_file(folder / "report.json")
    if done:
        log.info("reusing the dataset in %s", folder)
    else:
        resume = store.reuse and (folder / "dataset.jsonl").is_file()
        log.info("%s %s's dataset at %d queries from %d seeds", "continuing" if resume else "building", router, budget,
                 len(seeds))
        generate(seeds, out=folder, context=context_for(router, budget, args), concurrency=generation_settings()[1],
                 overwrite=not resume, resume=resume, progress=sys.stderr.isatty())
    return {"records": read_jsonl(folder / "dataset.jsonl"), "report": read_json_file(folder / "report.json")}


def fine_tuned(store: Parts, name: str, records: list[dict], args) -> dict:
    """The main job's fine-tune of one dataset into NAME/finetune (read back with --reuse): its run card."""
    from teamsrl_graph.commands.pipeline import defaults, fine_tune, trainer_config

    if store.has(f"{name}/finetune/run_card.json"):
        log.info("reusing the adapter in %s", store.folder / name / "finetune")
    else:
        log.info("fine-tuning on %s's dataset", name)
        fine_tune(records, store.folder / name, trainer_config(seed=args.seed, base=args.model), heldout=defaults().heldout)
    return read_json_file(store.folder / name / "finetune" / "run_card.json")


# -- the measures ----------------------------------------------------------------------------------

def counted(record: dict) -> bool:
    """A record the yield counts: verified (`records.verified`) after at least one accepted evolution."""
    return verified(record) and any(s.get("accepted") for s in record.get("path", []))


def expert_queries(record: dict) -> int:
    """A record's expert queries: every rewrite on its path and every answer sample (summed over a run's
    records, the report's expert and responder roles)."""
    return len(record.get("path", [])) + record.get("samples", 0)


def added_met(records: list[dict]) -> dict:
    """{"met", "all"}: the constraints accepted add_constraints steps added, and how many of them the
    record's answer met (strict)."""
    met = total = 0
    for r in records:
        added = [s["constraint"] for s in r.get("path", []) if s.get("accepted") and s.get("constraint")]
        results = (r.get("verification") or {}).get("results", [])
        for constraint, result in zip(r.get("constraints", []), results):
            if constraint in added:
                total += 1
                met += bool(result["strict"])
    return {"met": met, "all": total}


def ratio_interval(learned: list[dict], random_: list[dict], rounds: int = 2000, seed: int = 0) -> list[float] | None:
    """95% bootstrap interval of learned ÷ random expert queries per verified record, each router's
    records (one per seed) resampled on their own; None without records on both sides. A resample
    with no verified record costs infinitely much (both sides none: left out)."""
    if not (learned and random_):
        return None
    rng = random.Random(seed)

    def cost(records):
        picked = rng.choices(records, k=len(records))
        good = sum(counted(r) for r in picked)
        return sum(expert_queries(r) for r in picked) / good if good else math.inf

    ratios = sorted(a / b for a, b in ((cost(learned), cost(random_)) for _ in range(rounds))
                    if not (math.isinf(a) and math.isinf(b)))
    if not ratios:
        return None
    return [round(ratios[int(0.025 * (len(ratios) - 1))], 3), round(ratios[int(0.975 * (len(ratios) - 1))], 3)]


def mix(counts: Counter) -> dict | None:
    """{"counts", "entropy_bits", "largest", "largest_share"} of some counts; None when there are none."""
    total = sum(counts.values())
    if not total:
        return None
    largest, n = max(sorted(counts.items()), key=lambda kv: kv[1])
    return {"counts": dict(counts.most_common()), "entropy_bits": entropy_bits(counts), "largest": largest,
            "largest_share": round(n / total, 4)}


def measures(records: list[dict], report: dict, diversity=None) -> dict:
    """One dataset's measures from its records and its report.json (`diversity`: texts -> float, MiniLM's
    mean pairwise cosine distance by default)."""
    if diversity is None:
        from teamsrl_graph.common.embeddings import diversity
    good = [r for r in records if counted(r)]
    by_role = report["queries"].get("by_role", {})
    expert = by_role.get("expert", 0) + by_role.get("responder", 0)  # booked per sample
    steps = [s for r in records for s in r.get("path", [])]
    types = type_mix([r["constraints"] for r in good])
    return {"queries": report["queries"]["total"], "expert_queries": expert, "records": len(records),
            "verified": len(good), "expert_per_verified": round(expert / len(good), 3) if good else None,
            "diversity": round(diversity([r["instruction"] for r in good]), 4),
            "type_entropy": types["entropy_bits"], "types": types["counts"],
            "actions": mix(Counter(s["op"] for s in steps)),
            "families": mix(Counter(s["family"] for s in steps if s.get("family"))), "added_met": added_met(records),
            "stops": report.get("stops")}


def accuracy(row: dict, name: str = "heldout_constrained") -> float | None:
    stats = (row.get("vs_base") or {}).get(name)
    return None if stats is None else stats["finetuned"]


def ratio(a, b) -> float | None:
    return None if a is None or not b else round(a / b, 4)


def check(name: str, value, target: str, met: bool | None) -> dict:
    return {"name": name, "value": value, "target": target, "met": met}


def comparison(rows: list[dict], versus: dict | None, budget: int, interval: list | None = None,
               router: str = "policy") -> list[dict] | None:
    """A learned `router` (one of LEARNED) against random at `budget`: each measure with its target and
    whether it is met (None: not measurable); None without both routers. `versus` is
    `compare(random, learned)`; `interval`, the bootstrap interval of the expert-query ratio
    (`ratio_interval`), goes with that measure. The sweep is the shipped policy's ("policy")."""
    by = {(r["router"], r["budget"]): r for r in rows}
    learned, random_ = by.get((router, budget)), by.get(("random", budget))
    who = NAMES[router]
    if not (learned and random_):
        return None
    expert = ratio(learned["expert_per_verified"], random_["expert_per_verified"])
    spread = round(learned["diversity"] - random_["diversity"], 4)
    types = ratio(learned["type_entropy"], random_["type_entropy"])
    held = (versus or {}).get("heldout_constrained")
    target = accuracy(random_)
    reaching = sorted(r["queries"] for r in rows if r["router"] == router and accuracy(r) is not None
                      and target is not None and accuracy(r) >= target)
    swept = router == "policy" and sum(r["router"] == "policy" for r in rows) > 1
    # reaching random's accuracy says something only where random's fine-tune beat the base model
    beats_base = target is not None and target > random_["vs_base"]["heldout_constrained"]["base"]
    sweep_target = f"≤ {random_['queries']} / 3" + ("" if beats_base else "; random's fine-tune does not beat the base model")
    return [
        {**check(f"{who} ÷ random expert queries per verified record", expert, f"≤ {TARGETS['expert']}",
                 None if expert is None else expert <= TARGETS["expert"]), "interval": interval},
        check(f"diversity, {who} − random", spread, f"≥ {TARGETS['diversity']}", spread >= TARGETS["diversity"]),
        check(f"{who} ÷ random constraint-type entropy", types, f"≥ {TARGETS['types']}",
              None if types is None else types >= TARGETS["types"]),
        check(f"held-out accuracy at equal queries, {who} − random",
              None if held is None else {k: held[k] for k in ("base", "finetuned", "difference", "gained", "lost",
                                                              "p_value", "interval")},
              "≥ 0", None if held is None else held["difference"] >= 0),
        check(f"fewest queries at which {who} reaches random's held-out accuracy",
              reaching[0] if reaching else None, sweep_target,
              (reaching[0] <= TARGETS["sweep"] * random_["queries"] if reaching else False)
              if swept and beats_base else None),
    ]


def build_report(args, seeds, held, rows, base: dict, runs: dict, seconds: float) -> dict:
    """report.json: each run's measures, fine-tune and pairing with the base model; learned against random."""
    base_v = verdicts(base, held, rows)
    v = {key: verdicts(run["answers"], held, rows) for key, run in runs.items()}
    table = [{"router": router, "budget": budget, **run["measures"], "trained_on": len(run["card"]["train_ids"]),
              "vs_base": compare(base_v, v[(router, budget)])} for (router, budget), run in runs.items()]
    key_r, versus, comparisons = ("random", args.budget), {}, {}  # by learned router
    for router in LEARNED:
        key_l = (router, args.budget)
        if key_l in v and key_r in v:
            versus[router] = compare(v[key_r], v[key_l])
            interval = ratio_interval(runs[key_l].get("records", []), runs[key_r].get("records", []))
            comparisons[router] = comparison(table, versus[router], args.budget, interval, router)
    return {"settings": settings(args), "budget": args.budget, "seeds": len(seeds), "heldout": len(held), "ifbench": len(rows),
            "base": {s: round(sum(x) / len(x), 4) if x else None for s, x in base_v.items()}, "rows": table,
            "versus_random": versus, "comparisons": comparisons, "seconds": round(seconds, 1)}


# -- the printed table and the result file -----------------------------------------------------

COLUMNS = ["router", "queries", "expert queries", "verified records", "expert queries / verified record",
           "diversity", "type entropy (bits)", "action entropy (bits)", "largest action share", "family entropy (bits)",
           "add_constraints' constraints met",
           "STOP share by step", "verified yield of STOP by step", "trained on", "held-out strict: base → tuned",
           "held-out gained / lost (p)", "IFBench loose: base → tuned", "IFBench gained / lost (p)"]


def fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def paired_cells(stats: dict | None) -> list[str]:
    if not stats:
        return ["-", "-"]
    return [f"{stats['base']:.3f} → {stats['finetuned']:.3f}", f"+{stats['gained']} / -{stats['lost']} ({stats['p_value']:.3g})"]


def added_cell(added: dict | None) -> str:
    return f"{added['met']} / {added['all']}" if added and added["all"] else "-"


def cells(row: dict, budget: int) -> list:
    """One run's row of the table (COLUMNS)."""
    stops = row["stops"] or []
    actions, families = row["actions"] or {}, row["families"] or {}
    name = NAMES[row["router"]] + ("" if row["budget"] == budget else f" @ {row['budget']}")
    return [name, row["queries"],
            row["expert_queries"], row["verified"], fmt(row["expert_per_verified"], 2), fmt(row["diversity"]),
            fmt(row["type_entropy"], 2), fmt(actions.get("entropy_bits"), 2), fmt(actions.get("largest_share"), 2),
            fmt(families.get("entropy_bits"), 2), added_cell(row.get("added_met")), " / ".join(fmt(s["stop_share"], 2) for s in stops) or "-",
            " / ".join(fmt(s["verified_yield"], 2) for s in stops) or "-", row["trained_on"],
            *paired_cells(row["vs_base"]["heldout_constrained"]), *paired_cells(row["vs_base"]["ifbench"])]


def shown(value) -> str:
    if isinstance(value, dict):
        return (f"{value['finetuned']:.3f} vs {value['base']:.3f} ({value['difference']:+.3f}, +{value['gained']} / "
                f"-{value['lost']}, p {value['p_value']:.3g}, 95% [{value['interval'][0]:+.3f}, {value['interval'][1]:+.3f}])")
    return "-" if value is None else str(value)


def shown_check(c: dict) -> str:
    """A measure's value, with its interval where it has one."""
    interval = c.get("interval")
    return shown(c["value"]) + (f" (95% [{interval[0]:.3f}, {interval[1]:.3f}])" if interval else "")


def verdict(c: dict) -> str:
    return {True: "met", False: "not met", None: "not measured"}[c["met"]]


def summary(report: dict) -> str:
    s = report["settings"]
    return (f"{report['seeds']} seeds no router was trained on (the validation tasks and examples/unseen_seeds*.txt), "
            f"every router under a cap of {report['budget']} queries with the main job's generation settings "
            f"({s['generation']['max_steps']} evolution steps, up to {s['generation']['answer_samples']} answers, "
            f"1-{s['generation']['constraints_per_instruction']} constraints per instruction) and the main job's fine-tune "
            f"of each dataset; {report['heldout']} held-out constrained instructions (held-out tasks and wordings, prompt "
            f"level strict; base model {fmt(report['base']['heldout_constrained'])}) and "
            + (f"{report['ifbench']} IFBench prompts (prompt level loose; base model {fmt(report['base']['ifbench'])})"
               if report["ifbench"] else "no IFBench prompts") + f", {s['answer_tokens']}-token answers")


def result_of(report: dict, budget: int) -> dict:
    """write_result's arguments: the printed table, and the comparison's measures as figures."""
    figures = {c["name"]: f"{shown_check(c)} (target {c['target']}: {verdict(c)})"
               for checks in (report.get("comparisons") or {}).values() for c in checks}
    routers = list(dict.fromkeys(NAMES[row["router"]].split(" (")[0].split(",")[0] for row in report["rows"]))
    named = ", ".join(routers[:-1]) + " and " + routers[-1] if len(routers) > 1 else routers[0]
    return {"title": f"Routers downstream: {named} at {budget} queries", "columns": COLUMNS,
            "readme_table": True,
            "rows": [cells(r, budget) for r in report["rows"]], "figures": figures or None, "summary": (
                summary(report) + ". A verified record met every constraint it carries after at least one accepted "
                "evolution; expert queries count every rewrite and every answer sample. Each fine-tuned model is paired "
                "with the base model (gained / lost, exact McNemar p); the figures pair each learned router with random (the "
                "expert-query ratio's interval resamples each router's seeds).")}


def markdown(columns: list, rows: list[list]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# -- the run ----------------------------------------------------------------------------------------

def run(args) -> dict:
    from teamsrl_graph.commands.pipeline import evaluation_constrained
    from teamsrl_graph.evaluation.evaluator import ifbench_rows
    from teamsrl_graph.models.local import base_folder

    started, out = time.monotonic(), Path(args.out)
    seeds = seed_pool(args.seeds)
    held = evaluation_constrained(args.constrained, args.seed)
    rows = ifbench_rows(args.ifbench)
    keep_apart([{"prompt": s.instruction, "task": s.instruction} for s in seeds], held, rows, what="seeds",
               field="--seeds")
    folder = base_folder(args.model)
    store = Parts(out, args.reuse, settings(args))
    sets = {"heldout_constrained": [i["prompt"] for i in held], "ifbench": [r["prompt"] for r in rows]}
    keys = [(router, args.budget) for router in args.routers] + [("policy", b) for b in args.sweep]
    names = {key: f"{key[0]}-{key[1]}" for key in keys}

    log.info("1/4 datasets: %s from %d seeds", ", ".join(names.values()), len(seeds))
    runs = {}
    for key in keys:
        made = dataset(store, names[key], *key, seeds, args)
        runs[key] = {"records": made["records"], "measures": measures(made["records"], made["report"])}
        log.info("%s: %s", names[key], {k: runs[key]["measures"][k] for k in ("queries", "verified", "expert_per_verified")})
    log.info("2/4 fine-tunes, one per dataset")
    for key in keys:
        runs[key]["card"] = fine_tuned(store, names[key], runs[key]["records"], args)
    log.info("3/4 the base model's answers: %s", {s: len(p) for s, p in sets.items()})
    base = store.json("base/answers.json",
                      lambda: answer_sets(*load(folder), sets, args.answer_tokens, "base", GENERATION_BATCH))
    log.info("4/4 each fine-tuned model's answers")
    for key in keys:
        adapter = store.folder / names[key] / "finetune" / "adapter"
        runs[key]["answers"] = store.json(f"{names[key]}/answers.json", lambda adapter=adapter, name=names[key]: answer_sets(
            *load(folder, adapter), sets, args.answer_tokens, name, GENERATION_BATCH))
    report = build_report(args, seeds, held, rows, base, runs, time.monotonic() - started)
    write_json(out / "report.json", report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        report = run(args)
    except TeamsrlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"\n{summary(report)}\n")
    print(markdown(COLUMNS, [cells(r, args.budget) for r in report["rows"]]))
    for c in (c for checks in report["comparisons"].values() for c in checks):
        print(f"{c['name']}: {shown_check(c)} (target {c['target']}): {verdict(c)}")
    if not report["comparisons"]:
        print("no comparison: it needs the learned and the random router at --budget")
    record(args.result, result_of(report, args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
