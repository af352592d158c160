"""`teamsrl generate`: evolve seed instructions through the graph, answer them, write the dataset.

In this process, or spread over Ray workers with `--ray` (teamsrl_graph/scale/). `add_arguments`,
`settings` and `produce` also serve `teamsrl pipeline`, whose first stage this is.
"""

from __future__ import annotations

import argparse
import json

from .options import add_fields, as_options, field_values


RESUME = "continue the run in --out: done records are kept, the ledger goes on"


def add_arguments(p: argparse.ArgumentParser, *, out: str | None = None, resume: str = RESUME, **defaults):
    """The generation options: every `Context` setting, plus where seeds come from and results go.
    `out` and `defaults` (Context fields) override defaults (out=None makes --out required); `resume`
    is what --resume's help says it continues."""
    from ..evolve.context import Context

    p.add_argument("--seeds", help="JSONL ('instruction', optional 'input'), Alpaca JSON array, or text; default: shipped seeds")
    p.add_argument("--out", required=out is None, default=out, help="output folder" + (f" (default {out})" if out else ""))
    add_fields(p, Context, defaults=defaults)
    p.add_argument("--concurrency", type=int, default=16,
                   help="instructions evolved in parallel; with the in-process model, instructions x sample_batch near its "
                        "--max-batch keeps it full (default: %(default)s)")
    p.add_argument("--max-seed-tokens", type=int, default=1024, help="longest seed accepted (tokens)")
    p.add_argument("--skip-invalid", action="store_true", help="skip empty or over-long seeds with a warning instead of failing")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in --out")
    p.add_argument("--resume", action="store_true", help=resume)
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="spread the seeds over Ray workers, on the cluster at ADDRESS ('auto': the one `ray start` runs "
                        "here); without ADDRESS, on RAY_ADDRESS's cluster or a new Ray instance on this machine "
                        "(pip install 'teamsrl-graph[ray]')")
    p.add_argument("--workers", type=int, help="with --ray: workers, each with its own models and --concurrency seeds in "
                                               "flight (default: one per --worker-base-url, else 2)")
    p.add_argument("--worker-base-url", action="append", dest="worker_base_urls", metavar="URL",
                   help="with --ray: an OpenAI-compatible server of one worker's own, in place of --base-url (repeat it: "
                        "one worker per URL)")


def settings(args):
    """(seeds, Context) from the options, validated before anything runs."""
    from ..evolve.context import Context
    from ..common.checks import whole
    from ..common.errors import InputError
    from ..dataio.seeds import load_seeds

    whole(args, "concurrency", "max_seed_tokens", prefix="--")  # a limit of 0 tokens refuses every seed
    whole(args, "workers", prefix="--", empty=True)
    if args.pit and args.improve != "pit":
        raise InputError("is only used with --improve pit", field="--pit")
    for name, value in (("--workers", args.workers), ("--worker-base-url", args.worker_base_urls)):
        if value is not None and args.ray is None:
            raise InputError("is only used with --ray", field=name)
    try:
        context = Context(**field_values(args, Context))
        if context.improve == "pit":
            context.improver_spec()  # the PIT folder is checked here, before seeds are read
    except InputError as error:
        raise as_options(error) from None
    seeds = load_seeds(args.seeds, strict=not args.skip_invalid, max_tokens=args.max_seed_tokens)
    return seeds, context


def produce(args, seeds, context, out) -> list[dict]:
    """Generate as the options say, into the folder `out`: in this process, or on Ray workers with --ray."""
    common = dict(out=out, context=context, concurrency=args.concurrency, overwrite=args.overwrite, resume=args.resume,
                  progress=not getattr(args, "quiet", False))
    if args.ray is None:
        from ..running.run import generate

        return generate(seeds, **common)
    from ..scale import generate_on_ray

    return generate_on_ray(seeds, address=args.ray or None, workers=args.workers, base_urls=args.worker_base_urls,
                           **common)


def run(args) -> int:
    seeds, context = settings(args)
    produce(args, seeds, context, args.out)
    with open(f"{args.out}/report.json") as f:
        report = json.load(f)
    print(f"{report['records']} records, {report['queries']['total']} queries (budget {report['budget']}), "
          f"{report['accepted']} evolutions accepted, {report['eliminated']} eliminated "
          f"({report['elimination_rate']:.0%}) -> {args.out}/dataset.jsonl")
    if "improve" in report:
        improve = report["improve"]
        print(f"{args.improve}: {improve['accepted']}/{improve['rounds']} improvement rounds kept, "
              f"{improve['improved_records']} answers improved; stopped by {improve['stopped_by']}")
    return 0
