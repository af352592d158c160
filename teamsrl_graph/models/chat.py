"""`LocalChatModel`: an in-process transformers model exposed as a LangChain chat model.

Every instance pointing at the same folder shares one loaded model and one `BatchGenerator` (the
engine), so calls from parallel graph branches (and from different roles) are batched together.
This module owns those shared engines: `close_engines()` stops their worker threads (they start
again on the next call). Responses carry `usage_metadata` with exact token counts from the model's
own tokenizer. A call with `logprobs=True, max_tokens=1` is a scoring request: one forward pass over
the prompt, never held in a decode batch. `stream`/`astream` (and LangGraph's `stream_mode="messages"`)
get the reply in pieces as the engine picks its tokens.
"""

from __future__ import annotations

import atexit
import queue
import threading
from typing import Any, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from ..common.errors import InputError
from . import local
from .batching import BatchGenerator

MAX_BATCH = 64  # rows an engine decodes together by default: the main job's 32 instructions in flight, two answers each
_ENGINES: dict[tuple, BatchGenerator] = {}
_ENGINES_LOCK = threading.Lock()

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "user"}


def engine(path: str | None = None, max_batch: int = MAX_BATCH, window_s: float = 0.01) -> BatchGenerator:
    """The shared engine for the model at `path` (None: the embedded default), loaded once per process."""
    key = (str(path or local.converted_path()), max_batch, window_s)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            model, tokenizer = local.load(key[0])
            _ENGINES[key] = BatchGenerator(model, tokenizer, max_batch=max_batch, window_s=window_s)
        return _ENGINES[key]


def close_engines():
    """Stop every shared engine's worker thread; unfinished requests fail with `EngineClosed`.

    The models stay loaded and a later call starts the worker again."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
    for e in engines:
        e.close()


atexit.register(close_engines)


def as_dicts(messages: list[BaseMessage]) -> list[dict]:
    """LangChain messages as chat-template dicts ({"role", "content"}), e.g. for training data."""
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def message_ids(tokenizer, messages: list[BaseMessage]) -> list[int]:
    """Prompt ids of `messages` as the local model sees them: a trailing assistant message (a prompt
    template's prefill) is continued; otherwise the assistant's turn is opened."""
    chat = as_dicts(messages)
    prefill = bool(chat) and chat[-1]["role"] == "assistant"
    return local.chat_ids(tokenizer, chat, continue_final=prefill)


class LocalChatModel(BaseChatModel):
    """SmolLM2-135M-Instruct (or any causal LM folder with a chat template), batched across threads."""

    model_path: str | None = None  # HF folder; None = the embedded SmolLM2-135M-Instruct
    max_new_tokens: int = 256  # completion length cap per call
    temperature: float = 0.0  # 0 = greedy (reproducible); > 0 samples
    max_batch: int = MAX_BATCH  # most rows decoded together (a request for n samples takes n rows)
    n: int = 1  # answers per request (a call may ask for more with n=k): k rows that share one prefill
    batch_window_s: float = 0.01  # an idle engine waits this long for company before starting
    _engine: BatchGenerator | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "teamsrl-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path or "smollm2-135m-instruct", "temperature": self.temperature}

    @property
    def engine(self) -> BatchGenerator:
        if self._engine is None:
            self._engine = engine(self.model_path, self.max_batch, self.batch_window_s)
        return self._engine

    @property
    def context_length(self) -> int:
        return int(getattr(self.engine.model.config, "max_position_embeddings", 2048))

    def _prepare(self, messages: list[BaseMessage], kwargs: dict) -> tuple[list[int], int, float, bool]:
        """(prompt ids, new-token cap, temperature, scoring) of one call; InputError when it cannot fit."""
        ids = message_ids(self.engine.tokenizer, messages)
        max_new = int(kwargs.get("max_tokens") or self.max_new_tokens)
        if len(ids) + max_new > self.context_length:
            raise InputError(
                f"prompt of {len(ids)} tokens + {max_new} new tokens exceeds the model's context of "
                f"{self.context_length} tokens"
            )
        temperature = float(kwargs.get("temperature", self.temperature))
        scoring = bool(kwargs.get("logprobs")) and max_new == 1  # only the first token's log-probabilities matter
        return ids, max_new, temperature, scoring

    def _reply(self, done, stop, kwargs: dict) -> tuple[str, dict, dict]:
        """(text cut at the first stop sequence, usage metadata, response metadata) of a finished call."""
        text = _cut(done.text, stop)
        usage = {
            "input_tokens": done.prompt_tokens,
            "output_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens,
        }
        metadata = {"model_name": self._identifying_params["model_path"], "finish_reason": done.finish_reason}
        if kwargs.get("logprobs"):  # OpenAI's layout, first token only, so callers read both alike
            k = int(kwargs.get("top_logprobs") or 5)
            top = [{"token": t, "logprob": lp} for t, lp in done.first_top[:k]]
            metadata["logprobs"] = {"content": [{**top[0], "top_logprobs": top}]} if top else None
        return text, usage, metadata

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        """One reply, or with n=k, k replies to the same prompt decoded side by side (their rows share
        one prefill). As with OpenAI's `n`, every reply carries the usage of the whole request."""
        ids, max_new, temperature, scoring = self._prepare(messages, kwargs)
        n = int(kwargs.get("n") or self.n)
        if n < 1:
            raise InputError(f"must be at least 1, got {n}", field="n")
        seed = kwargs.get("seed")  # sampling seed of this call (row i: seed + i); None = the engine numbers rows
        if scoring:
            done = [self.engine.score(ids)] * n
        else:
            futures = [self.engine.submit(ids, max_new, temperature, None if seed is None else seed + i) for i in range(n)]
            done = [f.result() for f in futures]
        replies = [self._reply(d, stop, kwargs) for d in done]
        completion = sum(d.completion_tokens for d in done)
        usage = {"input_tokens": done[0].prompt_tokens, "output_tokens": completion,
                 "total_tokens": done[0].prompt_tokens + completion}
        return ChatResult(generations=[
            ChatGeneration(message=AIMessage(content=text, usage_metadata=usage if n > 1 else own, response_metadata=metadata))
            for text, own, metadata in replies])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        """The reply piece by piece as the engine picks its tokens (batched like any other call); the
        last chunk carries the usage and finish reason. A scoring call is one chunk."""
        ids, max_new, temperature, scoring = self._prepare(messages, kwargs)
        sent = ""  # text yielded so far
        if scoring:
            done = self.engine.score(ids)
        else:
            arrived: queue.SimpleQueue[int] = queue.SimpleQueue()
            future = self.engine.submit(ids, max_new, temperature, kwargs.get("seed"), on_token=arrived.put)
            tokens = []
            while not (future.done() and arrived.empty()):  # a request's tokens all arrive before it is done
                try:
                    tokens.append(arrived.get(timeout=0.05))
                except queue.Empty:
                    continue
                text = _cut(self.engine.tokenizer.decode(tokens, skip_special_tokens=True), stop)
                if text.endswith("\ufffd") or not text.startswith(sent) or len(text) == len(sent):
                    continue  # half a character, or nothing new yet
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text[len(sent):]))
                sent = text
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            done = future.result()
        text, usage, metadata = self._reply(done, stop, kwargs)
        rest = text[len(sent):] if text.startswith(sent) else ""
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=rest, usage_metadata=usage,
                                                           response_metadata=metadata, chunk_position="last"))
        if run_manager and rest:
            run_manager.on_llm_new_token(rest, chunk=chunk)
        yield chunk


def _cut(text: str, stop: list[str] | None) -> str:
    """`text` up to the first of the `stop` sequences it contains."""
    for s in stop or []:
        if s in text:
            text = text[: text.index(s)]
    return text
