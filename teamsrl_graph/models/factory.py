"""One factory for every chat model the project uses, from a short spec string, and the rules for
talking to servers over HTTP.

- ``local``: the embedded SmolLM2-135M-Instruct, in-process and batched (`LocalChatModel`).
- ``local:/path/to/folder``: any transformers causal-LM folder with a chat template, same machinery.
- ``provider:model`` (``openai:gpt-4o-mini``, ``anthropic:...``): LangChain's `init_chat_model`.
  With ``base_url`` it talks to any OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp).

Provider models get a request timeout and no hidden retries of their own (``max_retries=0``): the
project retries failed calls itself, so that every HTTP request is booked in the run's budget. A chat
model instance the caller passes gets the same treatment (`without_own_retries`): an OpenAI-style
model is used as a copy whose clients make no retries; another model that would retry on its own is
refused with what to do.
`is_transient` and `retry_after` tell a retry policy which failures are worth another attempt and
how long a server asked to wait. API keys and passwords never reach the logs: the HTTP loggers are
quietened and a redacting filter sees every log record (`protect_secrets`).

Roles (expert, reviewer, responder, and the optional improver) each get a spec; `Models.from_specs`
builds them, reusing one instance when two roles name the same spec so a local model is loaded and
batched once.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from langchain_core.language_models.chat_models import BaseChatModel

from ..common.checks import arguments, non_negative, positive, whole
from ..common.errors import InputError, SetupError, TeamsrlError

log = logging.getLogger("teamsrl.models")
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai")  # log URLs and headers at INFO/DEBUG
TRANSIENT_STATUS = frozenset({408, 409, 425, 429})  # besides every 5xx: worth another attempt
REDACTED = "<redacted>"


def make_chat_model(
    spec: str = "local",
    *,
    temperature: float = 0.0,
    max_tokens: int = 256,
    base_url: str | None = None,
    max_batch: int | None = None,
    timeout: float = 60.0,
    max_retries: int = 0,
    rate_limiter=None,
) -> BaseChatModel:
    """Build a chat model from `spec` (see the module docstring); a chat model instance is returned as it is.

    For provider models: `timeout` bounds each HTTP request (seconds, connect and read alike);
    `max_retries` is the SDK's own hidden retries, off by default; `rate_limiter` (a LangChain
    `BaseRateLimiter`, e.g. from `make_rate_limiter`) spaces calls out, shared when the same object
    is passed for several roles. In-process models ignore all three, and take `max_batch` (the rows
    their engine decodes together; None = `chat.MAX_BATCH`), which provider models ignore.

    `base_url` must be ``http(s)://host[:port][/path]``. User info in it
    (``http://user:secret@host/v1``) is removed from the URL before any request; the password (or a
    lone user name) becomes the API key when ``OPENAI_API_KEY`` is not set, so it is sent as a
    Bearer token, never as Basic auth, and never printed. Without a base_url, an OpenAI model needs
    ``OPENAI_API_KEY`` (``OPENAI_BASE_URL`` or ``OPENAI_API_BASE`` stand in for `base_url`, under
    the same rules).
    """
    if isinstance(spec, BaseChatModel):
        return without_own_retries(spec)
    if not isinstance(spec, str):
        raise InputError(f"must be a model spec ('local', 'local:/folder', 'provider:model') or a chat model, got "
                         f"{type(spec).__name__}", field="model")
    settings = arguments(temperature=temperature, max_tokens=max_tokens, max_batch=max_batch)
    non_negative(settings, "temperature")
    whole(settings, "max_tokens")
    whole(settings, "max_batch", empty=True)
    if spec == "local" or spec.startswith("local:"):
        from .chat import LocalChatModel

        path = spec.partition(":")[2] or None
        if path and not os.path.isdir(path):
            raise InputError(f"model folder {path!r} does not exist", field="model")
        rows = {"max_batch": max_batch} if max_batch is not None else {}
        return LocalChatModel(model_path=path, temperature=temperature, max_new_tokens=max_tokens, **rows)
    if ":" not in spec and not base_url:
        provider, slash, name = spec.partition("/")
        hint = f" (did you mean '{provider}:{name}'? a name with '/' is a model on --base-url's server)" if slash else ""
        raise InputError(f"model spec {spec!r} is neither 'local' nor 'provider:model'{hint}", field="model")
    client = arguments(timeout=timeout, max_retries=max_retries)
    positive(client, "timeout")
    whole(client, "max_retries", least=0)
    from langchain.chat_models import init_chat_model

    protect_secrets()
    provider, _, name = spec.partition(":") if ":" in spec else ("openai", "", spec)
    kwargs = {"temperature": temperature, "max_tokens": max_tokens, "timeout": timeout, "max_retries": max_retries}
    if rate_limiter is not None:
        kwargs["rate_limiter"] = rate_limiter
    if not base_url and provider == "openai":  # the SDK would read these itself, user info and all
        base_url = os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
    if base_url:
        url, secret = split_base_url(base_url)
        # OpenAI-compatible servers on loopback rarely check keys, but the client insists on one.
        key = os.environ.get("OPENAI_API_KEY") or secret or "not-needed"
        kwargs.update(base_url=url, api_key=key)
        provider = "openai" if provider in ("", "openai") else provider
    elif provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise SetupError(f"model {spec!r} needs an API key: set OPENAI_API_KEY, or give --base-url for a local server")
    add_secret(os.environ.get("OPENAI_API_KEY"))
    add_secret(kwargs.get("api_key"))
    try:
        return init_chat_model(name, model_provider=provider, **kwargs)
    except ImportError as error:
        raise SetupError(f"model {spec!r} needs a package that is not installed: {error}") from None
    except ValueError as error:  # pydantic's ValidationError is a ValueError: a missing key, a bad setting
        raise InputError(f"model spec {spec!r}: {redact(one_line(error))}", field="model") from None
    except Exception as error:  # the SDK refusing to start, e.g. OpenAIError for a missing key
        if type(error).__module__.split(".")[0] in ("openai", "anthropic", "langchain_openai", "langchain_anthropic"):
            raise SetupError(f"model {spec!r}: {redact(one_line(error))}") from None
        raise


def without_own_retries(model: BaseChatModel) -> BaseChatModel:
    """`model` if it makes no hidden retries; else a copy whose provider clients make none (OpenAI-style
    models: the SDK would otherwise send up to `max_retries` more requests per call, unbooked), so
    that the run's own retries, each one booked, are the only ones. A model that retries by itself
    and cannot be copied without that is an InputError. The given instance is never changed."""
    if "max_retries" not in type(model).model_fields:
        return model  # in-process and fake models: nothing retries behind the ledger's back
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        BaseChatOpenAI = ()
    if isinstance(model, BaseChatOpenAI):
        clients = [(root, derived) for root, derived in (("root_client", "client"), ("root_async_client", "async_client"))
                   if getattr(model, derived, None) is not None]
        if all(getattr(model, root, None) is not None for root, _ in clients):
            if model.max_retries == 0 and all(getattr(model, root).max_retries == 0 for root, _ in clients):
                return model
            copy = model.model_copy(update={"max_retries": 0})
            for root, derived in clients:  # the clients were built with the old setting: rebuild them
                fresh = getattr(model, root).with_options(max_retries=0)
                setattr(copy, root, fresh)
                setattr(copy, derived, fresh.chat.completions)
            return copy
    elif model.max_retries == 0:
        return model
    raise InputError(f"this {type(model).__name__} would retry failed requests itself (max_retries="
                     f"{model.max_retries}), behind the query ledger: build it with max_retries=0 (the run retries, "
                     "booking each attempt, up to the max_attempts setting)", field="model")


def one_line(error: BaseException) -> str:
    """The gist of `error` in one line (pydantic's first complaint, or the message's first line)."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return f"{'.'.join(map(str, first['loc'])) or 'settings'}: {first['msg']}"
        except Exception:
            pass
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def split_base_url(base_url: str) -> tuple[str, str | None]:
    """(`base_url` without user info, the password or lone user name it held, or None).

    An InputError (field ``base_url``) unless the scheme is http or https, a host is present and the
    port is in range; the message never repeats the user info.
    """
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as error:
        raise InputError(f"{_shown(base_url)} is not a valid URL ({error})", field="base_url") from None
    if parts.scheme not in ("http", "https"):
        raise InputError(f"{_shown(base_url)} must start with http:// or https://", field="base_url")
    if not parts.hostname:
        raise InputError(f"{_shown(base_url)} has no host", field="base_url")
    if port == 0:
        raise InputError(f"{_shown(base_url)} has port 0", field="base_url")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"  # IPv6 literals keep brackets
    netloc = host + (f":{port}" if port is not None else "")
    secret = unquote(parts.password or parts.username or "") or None
    add_secret(secret)
    return urlunsplit(parts._replace(netloc=netloc)), secret


def _shown(url: str) -> str:
    """`url` quoted for a message, with any user info cut out (best effort on broken URLs)."""
    return repr(re.sub(r"^([^/]*//)[^/]*@", r"\1", url.strip()))


def make_rate_limiter(requests_per_second: float, burst: int = 1):
    """LangChain's in-memory token bucket: at most `requests_per_second` calls, `burst` at once.
    Pass the same object for every role that talks to one server."""
    from langchain_core.rate_limiters import InMemoryRateLimiter

    positive(arguments(requests_per_second=requests_per_second), "requests_per_second")
    return InMemoryRateLimiter(requests_per_second=requests_per_second, max_bucket_size=max(1, burst),
                               check_every_n_seconds=min(0.1, 0.5 / requests_per_second))


# ---- failures and retries ----------------------------------------------------------------------

MALFORMED_REPLY = ("Unexpected response type from OpenAI-compatible endpoint", "null value for 'choices'")


def status_of(error: BaseException) -> int | None:
    """The HTTP status behind `error` (SDK status errors, httpx status errors), or None."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """Whether another attempt may succeed: 408/409/425/429 and 5xx replies, timeouts, refused or
    reset connections, and replies that are not valid JSON (or not a chat completion). Client
    errors (400, 401, 403, 404, 422), missing packages and bugs are not."""
    status = status_of(error)
    if status is not None and status >= 400:  # a 200 can come with a body that fails to parse
        return status in TRANSIENT_STATUS or 500 <= status < 600
    if isinstance(error, (TimeoutError, ConnectionError, json.JSONDecodeError)):
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"APITimeoutError", "APIConnectionError", "APIResponseValidationError", "TimeoutException",
                "TransportError", "RemoteProtocolError", "NetworkError"}:
        return True
    if isinstance(error, (ValueError, TypeError)) and any(m in str(error) for m in MALFORMED_REPLY):
        return True
    return False


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After``, in seconds or as an
    HTTP date), or None when the failure carries no such header. Never negative."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            parsed = email.utils.parsedate_tz(value) if scale == 1.0 else None
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def user_error(error: BaseException, spec: str = "") -> TeamsrlError | None:
    """The one-line error a user can act on for a lasting server refusal, or None: 401/403 (the key)
    is a SetupError, 404 (no such model or path) an InputError on the model field."""
    status = status_of(error)
    what = f"model {spec!r}: " if spec else ""
    if status in (401, 403):
        return SetupError(f"{what}the server refused the API key (HTTP {status}); set OPENAI_API_KEY or the "
                          "password in --base-url")
    if status == 404:
        return InputError(f"{what}the server has no such model or path (HTTP 404)", field="model")
    return None


# ---- secrets in logs ---------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_installed = False


def add_secret(value: str | None):
    """Redact `value` from every log record from now on (values under 4 characters are ignored)."""
    if value and len(value) >= 4 and value != "not-needed":
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by <redacted>."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a log record whose message or traceback holds a registered secret; keeps the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def protect_secrets():
    """Quieten the HTTP client loggers (they log request URLs and headers at INFO/DEBUG) to WARNING
    unless a level was set for them on purpose, and pass every log record of the process through `RedactSecrets` (via the record factory, so no
    logger or handler added later escapes it). Idempotent; called for every provider model."""
    global _installed
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    with _secrets_lock:
        if _installed:
            return
        _installed = True
    previous, redactor = logging.getLogRecordFactory(), RedactSecrets()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        redactor.filter(record)
        return record

    logging.setLogRecordFactory(factory)


# ---- capabilities and roles --------------------------------------------------------------------


def supports_prefill(model: BaseChatModel) -> bool:
    """Whether `model` continues a trailing assistant message (in-process models do)."""
    from .chat import LocalChatModel

    return isinstance(model, LocalChatModel)


def supports_logprobs(model: BaseChatModel) -> bool:
    """Whether `model` accepts `logprobs=True, top_logprobs=k` (in-process and OpenAI-style models)."""
    from .chat import LocalChatModel

    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        BaseChatOpenAI = ()
    return isinstance(model, (LocalChatModel, BaseChatOpenAI))


@dataclass
class Models:
    """The roles of a run. `responder` answers the final instructions; `improver` improves the answers."""

    expert: BaseChatModel  # applies the evolution operations
    reviewer: BaseChatModel  # judges whether an evolution gained information
    responder: BaseChatModel  # answers final instructions (the expert unless set apart)
    improver: BaseChatModel | None = None  # rewrites answers into better ones; None = no improve stage

    @classmethod
    def from_specs(cls, expert="local", reviewer=None, responder=None, improver=None, **kwargs):
        """The roles from specs or chat model instances; roles that name the same one share an instance."""
        built: dict = {}

        def get(spec) -> BaseChatModel:  # a spec string or a chat model instance (unhashable: keyed by identity)
            key = spec if isinstance(spec, str) else id(spec)
            if key not in built:
                built[key] = make_chat_model(spec, **kwargs)
            return built[key]

        return cls(get(expert), get(reviewer or expert), get(responder or expert), get(improver) if improver else None)

    def load(self):
        """Load in-process weights now, so a missing model fails before a run writes anything."""
        for model in (self.expert, self.reviewer, self.responder, self.improver):
            getattr(model, "engine", None)  # LocalChatModel loads (once per folder) on first access
