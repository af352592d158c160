"""Faster CPU runtimes for the answer stage, against today's engine, in the same run.

The answer stage makes most of the main job's completion tokens (the responder's 198k of 232k in
the run behind results/demo.json). Every runtime here answers the same constrained instructions:
the shipped validation tasks, each with one to three registry constraints in training phrasings
(`pipeline.validation_constrained`, the split for choosing settings), through the responder
template, `--samples` answers each at T 0.7 and top-p 0.95, up to `--max-new-tokens`, all
submitted at once. The runtimes:
- `engine`: today's path, the continuous-batching engine on the model in its default dtype
  (`local.default_dtype()`: bf16 where the CPU has bf16 units, else float32);
- `engine-other-dtype`: the same engine on a copy in the dtype the default passed over, which checks
  that choice on this CPU;
- `torch-int8`: the same engine on a copy whose Linear layers are quantized to int8 per output
  channel, activations quantized on the fly (torch's dynamic quantization);
- `ct2-float32`, `ct2-int8`: CTranslate2, when it is installed (`pip install ctranslate2`): the
  model converted once into a temporary folder (not timed), static batches of `--max-batch` rows,
  two batches at a time on one thread each.

It prints, per runtime, completion tokens/s and its ratio to `engine` in the same round, the share
of samples whose answer meets every constraint (strict), and the share of instructions with at least
one such sample: a faster runtime is only worth having if the second and third hold. The order of
the runtimes rotates from round to round. The result goes to results/cpu_runtimes.json (`--result`,
empty to skip), with the machine's CPU: these ratios depend on it (bf16 and int8 units).

    python benchmarks/cpu_runtimes.py [--prompts 32] [--samples 4] [--rounds 1] [--runtimes engine torch-int8 ...]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections import defaultdict

from teamsrl_graph.commands.pipeline import validation_constrained
from teamsrl_graph.common.prompts import load as load_template
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints import verify
from teamsrl_graph.models import local
from teamsrl_graph.models.batching import TOP_P, BatchGenerator
from teamsrl_graph.models.chat import message_ids

RUNTIMES = ("engine", "engine-other-dtype", "torch-int8", "ct2-float32", "ct2-int8")


def torch_runtime(model, tokenizer, args):
    """Answers through the continuous-batching engine: (prompt ids) -> texts, `args.samples` per prompt."""
    engine = BatchGenerator(model, tokenizer, max_batch=args.max_batch, seed=args.seed)

    def answer(prompts: list[list[int]]) -> tuple[list[list[str]], int]:
        futures = [[engine.submit(p, args.max_new_tokens, args.temperature) for _ in range(args.samples)] for p in prompts]
        done = [[f.result() for f in row] for row in futures]
        return [[c.text for c in row] for row in done], sum(c.completion_tokens for row in done for c in row)

    return answer, engine.close


def other_dtype(dtype):
    import torch

    return torch.float32 if dtype == torch.bfloat16 else torch.bfloat16


def int8_copy(model):
    import torch

    quantize = torch.ao.quantization.quantize_dynamic
    return quantize(model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, inplace=False)


def ct2_runtime(folder, tokenizer, compute_type: str, args):
    """Answers through CTranslate2: the same rows in static batches, two batches at a time."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    tmp = tempfile.TemporaryDirectory(prefix="ct2-")
    TransformersConverter(str(folder)).convert(tmp.name, quantization=compute_type, force=True)
    generator = ctranslate2.Generator(tmp.name, device="cpu", compute_type=compute_type, inter_threads=2, intra_threads=1)
    ctranslate2.set_random_seed(args.seed)

    def answer(prompts: list[list[int]]) -> tuple[list[list[str]], int]:
        rows = [tokenizer.convert_ids_to_tokens(p) for p in prompts for _ in range(args.samples)]
        results = generator.generate_batch(
            rows, max_batch_size=args.max_batch, max_length=args.max_new_tokens, include_prompt_in_result=False,
            end_token=[tokenizer.eos_token_id], return_end_token=True, repetition_penalty=1.1,
            sampling_topk=0, sampling_topp=TOP_P, sampling_temperature=args.temperature)
        ids = [r.sequences_ids[0] for r in results]
        texts = [tokenizer.decode(i, skip_special_tokens=True) for i in ids]
        return [texts[k * args.samples:(k + 1) * args.samples] for k in range(len(prompts))], sum(map(len, ids))

    return answer, tmp.cleanup


def available(name: str) -> bool:
    if not name.startswith("ct2"):
        return True
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=32, help="constrained instructions answered by every runtime")
    ap.add_argument("--samples", type=int, default=4, help="answers per instruction")
    ap.add_argument("--max-new-tokens", type=int, default=256, help="the responder's default cap")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--max-batch", type=int, default=32, help="rows decoded together (the main job's engine: 32)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    result_option(ap, "results/cpu_runtimes.json")
    args = ap.parse_args()
    if "engine" not in args.runtimes:
        ap.error("the runtimes are compared with `engine`: keep it in --runtimes")
    missing = [r for r in args.runtimes if not available(r)]
    if missing:
        print(f"skipping {', '.join(missing)}: ctranslate2 is not installed (pip install ctranslate2)")
    names = [r for r in args.runtimes if r not in missing]

    folder = local.converted_path()
    model, tokenizer = local.load(folder)
    template = load_template("responder")
    work = validation_constrained(args.prompts, args.seed)
    prompts = [message_ids(tokenizer, template.render({"instruction": i["prompt"], "input": ""})) for i in work]
    runs = defaultdict(list)  # runtime -> [{"tokens", "seconds", "ratio", "verified", "tasks"}] per round
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        measured = {}
        for name in order:
            if name == "engine":
                answer, close = torch_runtime(model, tokenizer, args)
            elif name == "engine-other-dtype":
                answer, close = torch_runtime(copy.deepcopy(model).to(other_dtype(model.dtype)), tokenizer, args)
            elif name == "torch-int8":
                answer, close = torch_runtime(int8_copy(model), tokenizer, args)
            else:
                answer, close = ct2_runtime(folder, tokenizer, name.removeprefix("ct2-"), args)
            try:
                answer(prompts[:1])  # warm-up, not timed
                started = time.perf_counter()
                texts, tokens = answer(prompts)
                seconds = time.perf_counter() - started
            finally:
                close()
            passed = [[verify(t, item["constraints"])["strict"] for t in row] for item, row in zip(work, texts)]
            measured[name] = {"tokens": tokens, "seconds": seconds,  # unrounded: the table's tok/s is the printed one
                              "verified": sum(map(sum, passed)) / sum(map(len, passed)),
                              "tasks": sum(any(row) for row in passed) / len(passed)}
            print(f"round {round_ + 1} {name:12s} {tokens / seconds:6.1f} tok/s  samples verified "
                  f"{measured[name]['verified']:.3f}  instructions with one {measured[name]['tasks']:.3f}", flush=True)
        base = measured["engine"]["tokens"] / measured["engine"]["seconds"]
        for name, m in measured.items():
            runs[name].append({**m, "ratio": m["tokens"] / m["seconds"] / base})
    for name in names:
        ratios = [r["ratio"] for r in runs[name]]
        print(f"{name:12s} ÷ engine: mean {sum(ratios) / len(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    record(args.result, result_of(runs, args, model.dtype))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def result_of(runs: dict, args, dtype) -> dict:
    """write_result's arguments: a row per runtime, averaged over the rounds; `dtype` is the engine's."""
    name_of = lambda d: str(d).removeprefix("torch.")  # noqa: E731
    rows = [[name, round(mean(r["tokens"] / r["seconds"] for r in rs), 1), round(mean(r["ratio"] for r in rs), 2),
             round(min(r["ratio"] for r in rs), 2), round(mean(r["verified"] for r in rs), 3),
             round(mean(r["tasks"] for r in rs), 3)] for name, rs in runs.items()]
    return {"title": "CPU runtimes for the answer stage",
            "summary": (f"{args.prompts} shipped validation tasks with one to three constraints (training phrasings), "
                        f"{args.samples} sampled answers each (T {args.temperature}, up to {args.max_new_tokens} new "
                        f"tokens, {args.max_batch} rows at a time), answered by each runtime in the same run; "
                        f"{args.rounds} round(s); engine in {name_of(dtype)}"
                        + (f", engine-other-dtype in {name_of(other_dtype(dtype))}" if "engine-other-dtype" in runs else "")
                        + ". Ratios are to today's engine in the same round; a runtime is worth "
                        "having only where the verified shares hold."),
            "columns": ["runtime", "completion tokens/s", "÷ engine (mean)", "÷ engine (min)", "samples verified",
                        "instructions with a verified sample"],
            "rows": rows}


if __name__ == "__main__":
    main()
