"""Continuous batching for an in-process transformers model.

Graph branches run in parallel threads and each asks for one completion. One worker thread owns the
model and decodes every running request together, one token per step, in a left-padded batch whose
key/value cache it edits between steps: a request that finishes leaves the batch at once and the
next waiting request is prefilled and merged into the free slot, whatever its token limit. Scoring
requests (the top log-probabilities of the first reply token, as a Yes/No reviewer needs) are one
forward pass over the prompt, batched with each other and never held in the decode batch.

`run_batch` is the static alternative, one `model.generate` over a fixed batch; trainers,
evaluation and the throughput benchmark use it directly. This module does not load models (see
`local.py`) nor speak LangChain (see `chat.py`).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

import torch

TOP_LOGPROBS = 20  # log-probabilities kept for the first new token
TOP_P = 0.95  # nucleus of sampled tokens
NUCLEUS_K = 512  # candidates ranked per sampled row; a row whose nucleus is wider is ranked in full


class EngineClosed(RuntimeError):
    """The engine was closed before (or while) serving the request."""


@dataclass
class Completion:
    text: str  # decoded new tokens, special tokens removed, whitespace kept
    prompt_tokens: int  # tokens in the prompt (without padding)
    completion_tokens: int  # new tokens up to and including the end-of-sequence token
    finish_reason: str  # "stop" (end of sequence) or "length" (hit max_new_tokens)
    first_top: list = field(default_factory=list)  # [(token text, logprob)] x 20 at the first new token


@dataclass
class Stats:
    requests: int = 0  # generation requests finished
    scores: int = 0  # scoring requests finished
    completion_tokens: int = 0  # new tokens of finished requests (1 per scoring request)
    decode_steps: int = 0  # decode forward passes
    decode_rows: int = 0  # rows summed over decode passes (occupancy = decode_rows / decode_steps)
    prefill_rows: int = 0  # prompts prefilled (requests with the same prompt, admitted together, share one)

    @property
    def occupancy(self) -> float:
        return self.decode_rows / self.decode_steps if self.decode_steps else 0.0


@dataclass
class _Request:
    prompt_ids: list[int]  # the prompt's token ids
    max_new_tokens: int  # new-token cap; 0 = scoring (first-token log-probabilities only)
    temperature: float  # 0 = greedy
    seed: int  # seeds this request's own sampling generator
    future: Future = field(default_factory=Future)  # resolved with a Completion or an exception
    on_token: Callable[[int], None] | None = None  # called (in the worker) with each new token id as it is chosen


@dataclass
class _Row:
    request: _Request  # what this row serves
    tokens: list[int] = field(default_factory=list)  # new tokens so far (the last one not yet fed back)
    first_top: list = field(default_factory=list)  # top log-probabilities at the first new token
    generator: torch.Generator | None = None  # sampling randomness; None when greedy


class BatchGenerator:
    """The model's batching engine: `submit`/`generate`/`score` from any thread, `run_batch` inline.

    One worker thread, started by the first request, is the only thread that touches the model. It
    stops on `close()` (or leaving a `with` block): pending and running requests fail with
    `EngineClosed`, and a later request starts a fresh worker.
    """

    def __init__(self, model, tokenizer, max_batch: int = 8, window_s: float = 0.01, seed: int = 0,
                 repetition_penalty: float = 1.1):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch = max_batch  # most requests decoded together (and scored together)
        self.window_s = window_s  # an idle worker waits this long for more requests before prefilling
        self.seed = seed  # sampling seeds derive from it: request i samples with seed + i
        self.repetition_penalty = repetition_penalty  # 1.1 keeps a 135M model from looping; 1.0 = off
        self.batch_sizes: list[int] = []  # rows of every decode step (and of every run_batch call)
        self.trace: list | None = None  # set to a list to record (prompt ids, max_new_tokens, temperature) per request
        self.step_log: list | None = None  # set to a list to record (rows decoding, requests waiting) per decode step
        self.stats = Stats()
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards starting and stopping the worker
        self._closing = False
        self._count = 0  # requests submitted, numbers sampling seeds

    # -- callers ------------------------------------------------------------------------------

    def submit(self, prompt_ids: list[int], max_new_tokens: int, temperature: float = 0.0,
               seed: int | None = None, on_token: Callable[[int], None] | None = None) -> Future:
        """Queue a generation (max_new_tokens >= 1) or a scoring request (0); returns its future.
        `on_token` receives each new token id of a generation as the worker picks it (for streaming)."""
        if max_new_tokens < 0:
            raise ValueError("max_new_tokens must be >= 0")
        with self._lock:
            if self._closing:
                raise EngineClosed("the engine is closing")
            if self._thread is None or not self._thread.is_alive():
                self._queue = queue.Queue()
                self._thread = threading.Thread(target=self._loop, args=(self._queue,), name="teamsrl-batcher",
                                                daemon=True)
                self._thread.start()
            self._count += 1
            request = _Request(list(prompt_ids), max_new_tokens, temperature,
                               self.seed + self._count if seed is None else seed, on_token=on_token)
            if self.trace is not None:
                self.trace.append((request.prompt_ids, max_new_tokens, temperature))
            self._queue.put(request)
        return request.future

    def generate(self, prompt_ids: list[int], max_new_tokens: int, temperature: float = 0.0,
                 seed: int | None = None) -> Completion:
        return self.submit(prompt_ids, max_new_tokens, temperature, seed).result()

    def score(self, prompt_ids: list[int]) -> Completion:
        """One forward pass over the prompt: the greedy first token as text, with `first_top`."""
        return self.submit(prompt_ids, 0).result()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float | None = 30.0):
        """Stop the worker after its current step; every unfinished request fails with EngineClosed."""
        with self._lock:
            thread, self._closing = self._thread, True
            self._queue.put(None)
        try:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
        finally:
            with self._lock:
                self._thread, self._closing = None, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- worker -------------------------------------------------------------------------------

    def _loop(self, inbox: queue.Queue):
        batch = _DecodeBatch(self)
        waiting: list[_Request] = []
        try:
            while True:
                idle = not batch.rows and not waiting
                if not self._take(inbox, waiting, block=idle):
                    break
                scoring = [r for r in waiting if r.max_new_tokens == 0]
                if scoring:
                    waiting = [r for r in waiting if r.max_new_tokens > 0]
                    for start in range(0, len(scoring), self.max_batch):
                        self._guard(scoring[start:start + self.max_batch], self._score)
                while waiting and len(batch.rows) < self.max_batch:  # again if some ended at their prefill
                    free = self.max_batch - len(batch.rows)
                    joining, waiting = waiting[:free], waiting[free:]
                    self._guard(joining, batch.admit)
                if batch.rows:
                    if self.step_log is not None:
                        self.step_log.append((len(batch.rows), len(waiting)))
                    try:
                        batch.step()
                    except BaseException as error:  # fail the batch, keep the worker
                        batch.fail(error)
        except BaseException as error:
            batch.fail(error)
            waiting.extend(_drain(inbox))
            for r in waiting:
                _fail(r, error)
            raise
        closed = EngineClosed("the engine was closed")
        batch.fail(closed)
        for r in waiting + _drain(inbox):
            _fail(r, closed)

    def _take(self, inbox: queue.Queue, waiting: list, block: bool) -> bool:
        """Move arrived requests into `waiting`; an idle worker blocks for the first, then gathers
        more for `window_s`. False once close() was called."""
        if block:
            first = inbox.get()
            if first is None:
                return False
            waiting.append(first)
            deadline = time.monotonic() + self.window_s
            while len(waiting) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = inbox.get(timeout=timeout)
                except queue.Empty:
                    break
                if item is None:
                    return False
                waiting.append(item)
        while True:
            try:
                item = inbox.get_nowait()
            except queue.Empty:
                return True
            if item is None:
                return False
            waiting.append(item)

    def _guard(self, requests: list[_Request], work):
        """Run `work(requests)`; on an error fail those requests only."""
        try:
            work(requests)
        except BaseException as error:
            for r in requests:
                _fail(r, error)

    def _score(self, requests: list[_Request]):
        ids, mask, positions = _left_pad([r.prompt_ids for r in requests], self.tokenizer.pad_token_id)
        device = self.model.device
        with torch.inference_mode():
            out = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                             position_ids=positions.to(device), use_cache=False, logits_to_keep=1)
        logits = out.logits[:, -1, :].float()
        for r, top, token in zip(requests, self._tops(logits), logits.argmax(-1).tolist()):
            text = self.tokenizer.decode([token], skip_special_tokens=True)
            finish = "stop" if token == self.tokenizer.eos_token_id else "length"
            self.stats.scores += 1
            self.stats.completion_tokens += 1
            r.future.set_result(Completion(text, len(r.prompt_ids), 1, finish, top))

    def _tops(self, logits: torch.Tensor) -> list[list]:
        """[(token text, logprob)] x TOP_LOGPROBS per row of raw logits."""
        top = logits.log_softmax(-1).topk(min(TOP_LOGPROBS, logits.shape[-1]))
        return [[(self.tokenizer.decode([t]), float(v)) for v, t in zip(values, indices)]
                for values, indices in zip(top.values.tolist(), top.indices.tolist())]

    def _finish(self, row: _Row):
        eos = self.tokenizer.eos_token_id
        tokens = row.tokens
        finish = "stop" if tokens and tokens[-1] == eos else "length"
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)  # leading space kept: it may continue a prefill
        self.stats.requests += 1
        self.stats.completion_tokens += len(tokens)
        if not row.request.future.done():
            row.request.future.set_result(Completion(text, len(row.request.prompt_ids), len(tokens), finish,
                                                     row.first_top))

    # -- static batches -----------------------------------------------------------------------

    def run_batch(self, prompts: list[list[int]], max_new_tokens: int, temperature: float = 0.0) -> list[Completion]:
        """One left-padded `model.generate` over `prompts` in the calling thread (no worker); sampling
        draws from a seeded fork of the RNG, leaving the global one as it was."""
        self.batch_sizes.append(len(prompts))
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        ids, mask, _ = _left_pad(prompts, pad)
        width = ids.shape[1]
        device = self.model.device
        sampling = temperature > 0
        self._count += 1
        with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device], enabled=sampling), \
                torch.inference_mode():
            if sampling:
                torch.manual_seed(self.seed + self._count)
            out = self.model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=TOP_P if sampling else None,
                top_k=None,
                repetition_penalty=self.repetition_penalty,
                pad_token_id=pad,
                eos_token_id=eos,
                return_dict_in_generate=True,
                output_logits=True,
            )
        tops = self._tops(out.logits[0].float())  # raw logits, before any penalty
        out = out.sequences
        results = []
        for i, p in enumerate(prompts):
            new = out[i, width:].tolist()
            finish = "length"
            if eos in new:
                new = new[: new.index(eos) + 1]
                finish = "stop"
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            results.append(Completion(text, len(p), len(new), finish, tops[i]))
        return results


class _DecodeBatch:
    """The running rows of the worker and their shared left-padded key/value cache.

    Columns are shared: a row's real tokens end at the last column, padding (masked out, zero keys
    and values) fills its left. Positions count each row's own real tokens, so a row decodes as it
    would alone; only the shapes of the matrix products change with the company it keeps.
    """

    def __init__(self, engine: BatchGenerator):
        self.engine = engine
        self.rows: list[_Row] = []
        self.cache = None  # DynamicCache over all rows, or None when empty
        self.mask: torch.Tensor | None = None  # (rows, columns) 1 = real token
        self.seen: torch.Tensor | None = None  # (rows, vocab) True = token in prompt or output (repetition penalty)

    def admit(self, requests: list[_Request]):
        """Prefill `requests` together, pick their first tokens, merge the unfinished into the batch."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        engine, model = self.engine, self.engine.model
        device = model.device
        cache = DynamicCache(config=model.config)
        if any(type(layer) is not DynamicLayer for layer in cache.layers):  # sliding windows: no merging
            for r in requests:  # one static run each, as correct as it is slow
                r.future.set_result(engine.run_batch([r.prompt_ids], r.max_new_tokens, r.temperature)[0])
            return
        # requests with the same prompt (the samples of one call) share one prefill: the prompt runs
        # once and its cache row is copied to each of them
        prompts = list(dict.fromkeys(tuple(r.prompt_ids) for r in requests))
        ids, mask, positions = _left_pad([list(p) for p in prompts], engine.tokenizer.pad_token_id)
        with torch.inference_mode():
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                        past_key_values=cache, use_cache=True, logits_to_keep=1)
        logits = out.logits[:, -1, :].float()
        engine.stats.prefill_rows += len(prompts)
        if len(prompts) < len(requests):
            where = {p: i for i, p in enumerate(prompts)}
            index = torch.tensor([where[tuple(r.prompt_ids)] for r in requests], dtype=torch.long)
            cache.batch_select_indices(index.to(device))
            logits, mask = logits[index.to(logits.device)], mask[index]
        vocab = logits.shape[-1]
        seen = torch.zeros((len(requests), vocab), dtype=torch.bool, device=device)
        for i, r in enumerate(requests):
            seen[i, torch.tensor(r.prompt_ids, dtype=torch.long, device=device)] = True
        rows = []
        for r, top in zip(requests, engine._tops(logits)):
            generator = None
            if r.temperature > 0:
                generator = torch.Generator(device=device)
                generator.manual_seed(r.seed)
            rows.append(_Row(r, first_top=top, generator=generator))
        self._append(rows, logits, seen)
        keep = [i for i, row in enumerate(rows) if not self._done(row)]
        for i, row in enumerate(rows):
            if i not in keep:
                engine._finish(row)
        if not keep:
            return
        index = torch.tensor(keep, dtype=torch.long, device=device)
        cache.batch_select_indices(index)
        self._merge([rows[i] for i in keep], cache, mask.to(device)[index], seen[index])

    def step(self):
        """Feed every row its last token, pick the next ones, let finished rows go."""
        model, device = self.engine.model, self.engine.model.device
        ids = torch.tensor([[row.tokens[-1]] for row in self.rows], dtype=torch.long, device=device)
        positions = self.mask.sum(-1, keepdim=True)
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=self.mask, position_ids=positions, past_key_values=self.cache,
                        use_cache=True)
        self.engine.batch_sizes.append(len(self.rows))
        self.engine.stats.decode_steps += 1
        self.engine.stats.decode_rows += len(self.rows)
        self._append(self.rows, out.logits[:, -1, :].float(), self.seen)
        done = [i for i, row in enumerate(self.rows) if self._done(row)]
        if done:
            for i in done:
                self.engine._finish(self.rows[i])
            self._keep([i for i in range(len(self.rows)) if i not in done])

    def fail(self, error: BaseException):
        for row in self.rows:
            _fail(row.request, error)
        self.rows, self.cache, self.mask, self.seen = [], None, None, None

    # -- helpers ------------------------------------------------------------------------------

    def _done(self, row: _Row) -> bool:
        return row.tokens[-1] == self.engine.tokenizer.eos_token_id or len(row.tokens) >= row.request.max_new_tokens

    def _append(self, rows: list[_Row], logits: torch.Tensor, seen: torch.Tensor):
        """Choose each row's next token from its raw logits (penalty, then greedy or nucleus sampling)."""
        penalty = self.engine.repetition_penalty
        if penalty != 1.0:
            logits = torch.where(seen, torch.where(logits < 0, logits * penalty, logits / penalty), logits)
        chosen = logits.argmax(-1).tolist()
        sampled = [i for i, row in enumerate(rows) if row.generator is not None]
        if sampled:
            picks = _sample(logits[sampled], [rows[i].request.temperature for i in sampled],
                            [rows[i].generator for i in sampled])
            for i, pick in zip(sampled, picks):
                chosen[i] = pick
        for i, row in enumerate(rows):
            row.tokens.append(chosen[i])
            if row.request.on_token is not None:
                row.request.on_token(chosen[i])
        seen[torch.arange(len(rows), device=seen.device), torch.tensor(chosen, device=seen.device)] = True

    def _merge(self, rows: list[_Row], cache, mask: torch.Tensor, seen: torch.Tensor):
        if self.cache is None:
            self.rows, self.cache, self.mask, self.seen = rows, cache, mask, seen
            return
        old, new = self.mask.shape[1], mask.shape[1]
        width = max(old, new)
        for mine, theirs in zip(self.cache.layers, cache.layers):
            mine.keys = torch.cat([_pad_left(mine.keys, width, -2), _pad_left(theirs.keys, width, -2)])
            mine.values = torch.cat([_pad_left(mine.values, width, -2), _pad_left(theirs.values, width, -2)])
        self.mask = torch.cat([_pad_left(self.mask, width, -1), _pad_left(mask, width, -1)])
        self.seen = torch.cat([self.seen, seen])
        self.rows = self.rows + rows

    def _keep(self, keep: list[int]):
        if not keep:
            self.rows, self.cache, self.mask, self.seen = [], None, None, None
            return
        index = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        self.cache.batch_select_indices(index)
        self.rows = [self.rows[i] for i in keep]
        self.mask, self.seen = self.mask[index], self.seen[index]
        lead = int(self.mask.any(0).nonzero()[0])  # columns that are padding in every row left
        if lead:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[..., lead:, :], layer.values[..., lead:, :]
            self.mask = self.mask[:, lead:]


def _left_pad(prompts: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, mask, positions) of prompts right-aligned in one tensor; positions count real tokens."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        if not p:
            raise ValueError("empty prompt")
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, positions


def _pad_left(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    missing = width - t.shape[dim]
    if missing == 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([t.new_zeros(shape), t], dim=dim)


def _sample(logits: torch.Tensor, temperatures: list[float], generators: list[torch.Generator]) -> list[int]:
    """Nucleus sampling (top-p 0.95), one token per row of penalised logits, each row at its own
    temperature with its own generator. The rows are softmaxed and ranked together, and only their
    NUCLEUS_K most likely tokens are sorted: exact whenever those hold the nucleus (the row's
    probability mass reaches TOP_P within them), else that row is ranked in full. A row draws the
    same token whatever rows it is batched with."""
    scale = torch.tensor(temperatures, dtype=logits.dtype, device=logits.device).unsqueeze(1)
    probs = (logits / scale).softmax(-1)
    top, order = probs.topk(min(NUCLEUS_K, probs.shape[-1]), dim=-1)  # sorted, most likely first
    covered = (top.sum(-1) >= TOP_P).tolist()
    picks = []
    for i, generator in enumerate(generators):
        ranked, tokens = (top[i], order[i]) if covered[i] else probs[i].sort(descending=True)
        before = ranked.cumsum(-1) - ranked  # mass of the tokens ranked above each one
        ranked = ranked.masked_fill(before >= TOP_P, 0.0)
        picks.append(int(tokens[torch.multinomial(ranked, 1, generator=generator)]))
    return picks


def _fail(request: _Request, error: BaseException):
    if not request.future.done():
        request.future.set_exception(error)


def _drain(inbox: queue.Queue) -> list[_Request]:
    items = []
    while True:
        try:
            item = inbox.get_nowait()
        except queue.Empty:
            return items
        if item is not None:
            items.append(item)
