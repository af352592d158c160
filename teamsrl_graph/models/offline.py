"""Generating for a whole list of prompts at once, in batches: evaluation answers, HIR samples,
PIT's references. The graph does not use this (its calls meet in the batching thread); this runs
`BatchGenerator.run_batch` chunk after chunk in the calling thread. `sample` asks each prompt as one
user turn, `n` times.

A batch holds at most `batch_size` prompts and at most `max_tokens` padded prompt tokens (its rows
times its longest prompt): one long prompt among short ones would pad every row to its length, and
the whole batch would pay for it in prefill and in every decode step (`benchmarks/long_prompts.py`).
"""

from __future__ import annotations

MAX_BATCH_TOKENS = 8192  # most padded prompt tokens in one batch: 32 rows of 256 tokens, or fewer rows of longer ones


def batches(lengths: list[int], rows: int, max_tokens: int = MAX_BATCH_TOKENS) -> list[range]:
    """Consecutive index ranges over prompts of `lengths` (tokens), in order: each holds at most `rows`
    prompts and, unless one prompt alone is longer, at most `max_tokens` padded tokens (its count
    times its longest prompt)."""
    if rows < 1 or max_tokens < 1:
        raise ValueError(f"rows and max_tokens must be at least 1, got {rows} and {max_tokens}")
    spans, start, longest = [], 0, 0
    for i, n in enumerate(lengths):
        wider = max(longest, n)
        if i > start and (i - start == rows or (i - start + 1) * wider > max_tokens):
            spans.append(range(start, i))
            start, wider = i, n
        longest = wider
    if start < len(lengths):
        spans.append(range(start, len(lengths)))
    return spans


def complete_all(generator, prompts: list[list[int]], max_new_tokens: int, temperature: float = 0.0,
                 batch_size: int | None = None, desc: str | None = None, max_tokens: int = MAX_BATCH_TOKENS) -> list[str]:
    """The stripped completion of every prompt (token ids), in batches of at most `batch_size` (default:
    the generator's `max_batch`) prompts and `max_tokens` padded prompt tokens (`batches`); with
    `desc`, a progress bar of that name."""
    spans = batches([len(p) for p in prompts], batch_size or generator.max_batch, max_tokens)
    if desc:
        from tqdm.auto import tqdm

        spans = tqdm(spans, desc=desc, leave=False)
    texts = []
    for span in spans:
        chunk = prompts[span.start:span.stop]
        texts += [done.text.strip() for done in generator.run_batch(chunk, max_new_tokens, temperature)]
    return texts


def sample(model, tokenizer, prompts: list[str], n: int, temperature: float, max_new_tokens: int, batch_size: int,
           seed: int = 0, desc: str | None = None) -> list[list[str]]:
    """`n` outputs per prompt (each prompt one user turn, no repetition penalty), `batch_size`
    sequences per call; the same model, prompts and seed give the same outputs."""
    from .batching import BatchGenerator
    from .local import chat_ids

    generator = BatchGenerator(model, tokenizer, seed=seed, repetition_penalty=1.0)
    rows = [chat_ids(tokenizer, [{"role": "user", "content": p}], generation_prompt=True) for p in prompts for _ in range(n)]
    model.eval()
    texts = complete_all(generator, rows, max_new_tokens, temperature, batch_size, desc)
    return [texts[i * n:(i + 1) * n] for i in range(len(prompts))]
