"""Generating for a whole list of prompts at once, in batches: evaluation answers, HIR samples,
PIT's references. The graph does not use this (its calls meet in the batching thread); this runs
`BatchGenerator.run_batch` chunk after chunk in the calling thread."""

from __future__ import annotations


def complete_all(generator, prompts: list[list[int]], max_new_tokens: int, temperature: float = 0.0,
                 batch_size: int | None = None, desc: str | None = None) -> list[str]:
    """The stripped completion of every prompt (token ids), `batch_size` (default: the generator's
    `max_batch`) at a time; with `desc`, a progress bar of that name."""
    size = batch_size or generator.max_batch
    starts = range(0, len(prompts), size)
    if desc:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, leave=False)
    texts = []
    for start in starts:
        texts += [done.text.strip() for done in generator.run_batch(prompts[start:start + size], max_new_tokens, temperature)]
    return texts
