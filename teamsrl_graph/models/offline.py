"""Generating for a whole list of prompts at once, in batches: evaluation answers, HIR samples,
PIT's references. The graph does not use this (its calls meet in the batching thread); this runs
`BatchGenerator.run_batch` chunk after chunk in the calling thread. `sample` asks each prompt as one
user turn, `n` times."""

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
