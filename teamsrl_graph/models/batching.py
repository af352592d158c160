"""Dynamic batching for an in-process transformers model.

Graph branches run in parallel threads and each asks for one completion. Generating them one at a
time wastes the CPU (24 vs 117 tok/s at batch 1 vs 8 for the embedded model), so every request goes
through one worker thread that gathers the requests arriving together into a single left-padded
`generate` call. The worker is the only thread that touches the model.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch


@dataclass
class Completion:
    text: str  # decoded new tokens, special tokens removed, whitespace kept
    prompt_tokens: int  # tokens in the prompt (without padding)
    completion_tokens: int  # new tokens up to and including the end-of-sequence token
    finish_reason: str  # "stop" (end of sequence) or "length" (hit max_new_tokens)
    first_top: list = field(default_factory=list)  # [(token text, logprob)] x 20 at the first new token


@dataclass
class _Request:
    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float
    future: Future = field(default_factory=Future)

    @property
    def key(self):  # batched only with requests of the same length limit and sampling: mixing a
        # 4-token review into a 256-token answer batch holds the review back (measured: 2x slower)
        return (self.max_new_tokens, round(self.temperature, 4))


class BatchGenerator:
    """Collects concurrent requests for up to `window_s` seconds and runs them as one batch."""

    def __init__(self, model, tokenizer, max_batch: int = 8, window_s: float = 0.01, seed: int = 0,
                 repetition_penalty: float = 1.1):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.window_s, self.seed = max_batch, window_s, seed
        self.repetition_penalty = repetition_penalty  # 1.1 keeps a 135M model from looping; 1.0 = off
        self.batch_sizes: list[int] = []  # size of every batch run, for benchmarks and tests
        self.trace: list | None = None  # set to a list to record (prompts, max_new_tokens, temperature) per batch
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._thread: threading.Thread | None = None  # started by the first submit; run_batch needs none
        self._start_lock = threading.Lock()

    def submit(self, prompt_ids: list[int], max_new_tokens: int, temperature: float = 0.0) -> Future:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="teamsrl-batcher", daemon=True)
                self._thread.start()
        request = _Request(list(prompt_ids), max_new_tokens, temperature)
        self._queue.put(request)
        return request.future

    def generate(self, prompt_ids: list[int], max_new_tokens: int, temperature: float = 0.0) -> Completion:
        return self.submit(prompt_ids, max_new_tokens, temperature).result()

    # -- worker -------------------------------------------------------------------------------

    def _loop(self):
        pending: list[_Request] = []
        while True:
            if not pending:
                pending.append(self._queue.get())
            deadline = time.monotonic() + self.window_s
            while len(pending) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    pending.append(self._queue.get(timeout=timeout))
                    deadline = time.monotonic() + self.window_s  # more may be on their way
                except queue.Empty:
                    break
            key = pending[0].key
            batch = [r for r in pending if r.key == key][: self.max_batch]
            pending = [r for r in pending if r not in batch]
            self._run(batch)

    def _run(self, batch: list[_Request]):
        try:
            results = self.run_batch([r.prompt_ids for r in batch], batch[0].max_new_tokens, batch[0].temperature)
        except BaseException as error:  # hand the error to every caller instead of killing the worker
            for r in batch:
                r.future.set_exception(error)
            return
        for r, result in zip(batch, results):
            r.future.set_result(result)

    def run_batch(self, prompts: list[list[int]], max_new_tokens: int, temperature: float = 0.0) -> list[Completion]:
        """One left-padded `generate` over `prompts`; also used directly by the benchmarks."""
        self.batch_sizes.append(len(prompts))
        if self.trace is not None:
            self.trace.append((prompts, max_new_tokens, temperature))
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p):] = 1
        device = self.model.device
        sampling = temperature > 0
        if sampling:
            torch.manual_seed(self.seed + len(self.batch_sizes))
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=0.95 if sampling else None,
                top_k=None,
                repetition_penalty=self.repetition_penalty,
                pad_token_id=pad,
                eos_token_id=eos,
                return_dict_in_generate=True,
                output_logits=True,
            )
        first = out.logits[0].float().log_softmax(-1).topk(20)  # raw logits, before any penalty
        out = out.sequences
        results = []
        for i, p in enumerate(prompts):
            top = [(self.tokenizer.decode([t]), float(v)) for v, t in zip(first.values[i].tolist(), first.indices[i].tolist())]
            new = out[i, width:].tolist()
            finish = "length"
            if eos in new:
                new = new[: new.index(eos) + 1]
                finish = "stop"
            text = self.tokenizer.decode(new, skip_special_tokens=True)  # leading space kept: it may continue a prefill
            results.append(Completion(text, len(p), len(new), finish, top))
        return results

