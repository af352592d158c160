"""A fake OpenAI-compatible chat-completions server on loopback, for tests and soak benchmarks.

It answers ``POST /v1/chat/completions`` (and ``GET /v1/models``) with replies computed by a plain
function of the request, counts every HTTP request it sees (in total and per outcome), records the
request headers, and injects faults: 429 with ``Retry-After``, 500, 503, a malformed JSON body, a
hang (no reply for longer than a client's timeout), a connection reset or a silent close, and
the client errors 400, 401 and 404. Faults
come from a scripted sequence (one outcome per chat request, in arrival order) or at configured
rates drawn from a seeded generator, so a run is reproducible.

It does not stream, tokenize, or check API keys; it binds 127.0.0.1 only. Usage::

    with FakeOpenAI(reply=lambda body: "Yes", script=["429", "ok"]) as server:
        model = make_chat_model("openai:fake", base_url=server.base_url)
        ...
        assert server.counts["429"] == 1
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "malformed", "hang", "reset", "close", "400", "401", "404")  # every fault it can inject
OK = "ok"


@dataclass
class Reply:
    """A scripted answer with log-probabilities for its first token (what a reviewer's P(yes) reads)."""

    text: str  # the assistant message
    top: list[tuple[str, float]] | None = None  # (token, logprob) alternatives of the first token; None = the token itself at 0.0


@dataclass
class Seen:
    """One HTTP request as the server saw it."""

    method: str  # "GET" or "POST"
    path: str  # request path, e.g. "/v1/chat/completions"
    headers: dict  # request headers, names lower-cased
    body: dict | None  # parsed JSON body (None when absent or unreadable)
    outcome: str  # "ok", a fault name, "not_found" or "bad_request"


def echo(body: dict) -> str:
    """Default reply: a fixed sentence naming the first words of the last user message."""
    messages = body.get("messages") or [{}]
    text = messages[-1].get("content") or ""
    if isinstance(text, list):  # content parts
        text = " ".join(part.get("text", "") for part in text if isinstance(part, dict))
    return "Answer to: " + " ".join(str(text).split()[:8])


@dataclass
class FakeOpenAI:
    reply: Callable[[dict], str | Reply] = echo  # request body -> reply text (or a Reply with logprobs)
    faults: dict = field(default_factory=dict)  # fault name -> probability per chat request (e.g. {"429": 0.1})
    script: list = field(default_factory=list)  # outcomes of the first chat requests in order ("ok" or a fault)
    seed: int = 0  # seeds the fault draws
    retry_after: float = 1.0  # seconds sent in Retry-After with a 429
    hang_seconds: float = 5.0  # how long a "hang" holds the request before closing it unanswered
    model: str = "fake-model"  # the model name /v1/models lists
    requests: list = field(default_factory=list)  # every Seen request, in arrival order
    counts: Counter = field(default_factory=Counter)  # outcome -> number of requests
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _port: int | None = field(default=None, repr=False)

    def __post_init__(self):
        unknown = set(self.faults) - set(FAULTS) | {s for s in self.script if s not in FAULTS and s != OK}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; expected some of {FAULTS}")
        if sum(self.faults.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._rng = random.Random(self.seed)
        self._script = list(self.script)

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Wake hanging requests, stop serving and close the socket."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what tests read ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port it listens on (still known after it stopped)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The URL to give a client (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def total(self) -> int:
        """HTTP requests seen so far, whatever became of them."""
        with self._lock:
            return len(self.requests)

    @property
    def headers(self) -> list[dict]:
        with self._lock:
            return [seen.headers for seen in self.requests]

    def stats(self) -> dict:
        """{"total": n, "by_outcome": {...}}: a snapshot for reports."""
        with self._lock:
            return {"total": len(self.requests), "by_outcome": dict(self.counts)}

    # ---- decisions -------------------------------------------------------------------------------
    def _outcome(self) -> str:
        """The next chat request's fate: the script first, then the seeded fault draws."""
        with self._lock:
            if self._script:
                return self._script.pop(0)
            draw, edge = self._rng.random(), 0.0
            for name in FAULTS:
                edge += self.faults.get(name, 0.0)
                if draw < edge:
                    return name
            return OK

    def _note(self, seen: Seen):
        with self._lock:
            self.requests.append(seen)
            self.counts[seen.outcome] += 1

    def completion(self, body: dict) -> dict:
        """The chat.completion object for `body`: `n` choices (default 1), each from its own call of
        `reply` (usage counted in whitespace words, over all choices)."""
        prompt = " ".join(str(m.get("content") or "") for m in body.get("messages") or [])
        choices, n_out = [], 0
        for index in range(max(1, int(body.get("n") or 1))):
            choice, words = self._choice(body, index)
            choices.append(choice)
            n_out += words
        n_prompt = len(prompt.split())
        return {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", self.model), "choices": choices,
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_out, "total_tokens": n_prompt + n_out}}

    def _choice(self, body: dict, index: int) -> tuple[dict, int]:
        """One choice of a completion and its length in words."""
        answer = self.reply(body)
        answer = answer if isinstance(answer, Reply) else Reply(str(answer))
        words = answer.text.split()
        if body.get("max_tokens") or body.get("max_completion_tokens"):
            words = words[: body.get("max_completion_tokens") or body["max_tokens"]]
        text = answer.text if len(words) == len(answer.text.split()) else " ".join(words)
        choice = {"index": index, "message": {"role": "assistant", "content": text},
                  "finish_reason": "stop" if len(words) == len(answer.text.split()) else "length"}
        if body.get("logprobs"):
            k = int(body.get("top_logprobs") or 0)
            tokens = [w if i == 0 else " " + w for i, w in enumerate(words)] or [""]
            content = []
            for i, token in enumerate(tokens):
                top = answer.top if (i == 0 and answer.top) else [(token, 0.0)]
                entries = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top[:k]]
                content.append({"token": token, "logprob": top[0][1] if top[0][0] == token else 0.0,
                                "bytes": list(token.encode()), "top_logprobs": entries})
            choice["logprobs"] = {"content": content}
        return choice, len(words)


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (killed, timed out) is normal here: no traceback on stderr."""

    def handle_error(self, request, client_address):
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do (resets then hit pooled connections)
    fake: FakeOpenAI

    def log_message(self, *args):  # the server prints nothing
        pass

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _send(self, status: int, payload, headers: dict | None = None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, headers: dict | None = None):
        self._send(status, {"error": {"message": message, "type": kind, "code": None}}, headers)

    def _seen(self, body, outcome) -> Seen:
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, outcome)
        self.fake._note(seen)
        return seen

    def do_GET(self):
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._seen(None, OK)
            self._send(200, {"object": "list", "data": [{"id": self.fake.model, "object": "model", "owned_by": "fake"}]})
        else:
            self._seen(None, "not_found")
            self._error(404, f"no route {self.path}", "not_found_error")

    def do_POST(self):
        body = self._body()
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._seen(body, "not_found")
            return self._error(404, f"no route {self.path}", "not_found_error")
        if body is None or not isinstance(body.get("messages"), list):
            self._seen(body, "bad_request")
            return self._error(400, "the body must be a JSON object with a messages list", "invalid_request_error")
        outcome = self.fake._outcome()
        self._seen(body, outcome)
        try:
            self._answer(outcome, body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first (a timeout)
            self.close_connection = True

    def _answer(self, outcome: str, body: dict):
        fake = self.fake
        if outcome == OK:
            self._send(200, fake.completion(body))
        elif outcome == "429":
            self._error(429, "rate limit reached", "rate_limit_error", {"Retry-After": f"{fake.retry_after:g}"})
        elif outcome in ("500", "503"):
            self._error(int(outcome), "the server had an error", "server_error")
        elif outcome == "400":
            self._error(400, "the request is invalid", "invalid_request_error")
        elif outcome == "401":
            self._error(401, "invalid API key", "authentication_error")
        elif outcome == "404":
            self._error(404, f"the model {body.get('model')!r} does not exist", "not_found_error")
        elif outcome == "malformed":
            self._send(200, b'{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"index": 0, "mess')
        elif outcome == "hang":
            fake._stop.wait(fake.hang_seconds)
            self.close_connection = True
        elif outcome == "reset":  # RST instead of FIN: the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # closed before socketserver's shutdown(SHUT_WR) could send a FIN
            self.close_connection = True
        elif outcome == "close":  # FIN with no reply: "server disconnected without sending a response"
            self.close_connection = True
