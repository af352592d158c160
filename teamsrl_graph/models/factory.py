"""One factory for every chat model the project uses, from a short spec string.

- ``local``: the embedded SmolLM2-135M-Instruct, in-process and batched (`LocalChatModel`).
- ``local:/path/to/folder``: any transformers causal-LM folder with a chat template, same machinery.
- ``provider:model`` (``openai:gpt-4o-mini``, ``anthropic:...``): LangChain's `init_chat_model`.
  With ``base_url`` it talks to any OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp).

Roles (expert, reviewer, responder, and the optional improver) each get a spec; `Models.from_specs`
builds them, reusing one instance when two roles name the same spec so a local model is loaded and
batched once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from langchain_core.language_models.chat_models import BaseChatModel

from ..errors import InputError, SetupError


def make_chat_model(
    spec: str = "local",
    *,
    temperature: float = 0.0,
    max_tokens: int = 256,
    base_url: str | None = None,
    max_batch: int = 8,
) -> BaseChatModel:
    """Build a chat model from `spec` (see the module docstring)."""
    if spec == "local" or spec.startswith("local:"):
        from .chat import LocalChatModel

        path = spec.partition(":")[2] or None
        if path and not os.path.isdir(path):
            raise InputError(f"model folder {path!r} does not exist", field="model")
        return LocalChatModel(model_path=path, temperature=temperature, max_new_tokens=max_tokens, max_batch=max_batch)
    if ":" not in spec and not base_url:
        raise InputError(f"model spec {spec!r} is neither 'local' nor 'provider:model'", field="model")
    from langchain.chat_models import init_chat_model

    provider, _, name = spec.partition(":") if ":" in spec else ("openai", "", spec)
    kwargs = {"temperature": temperature, "max_tokens": max_tokens}
    if base_url:
        # OpenAI-compatible servers on loopback rarely check keys, but the client insists on one.
        kwargs.update(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "not-needed"))
        provider = "openai" if provider in ("", "openai") else provider
    try:
        return init_chat_model(name, model_provider=provider, **kwargs)
    except ImportError as error:
        raise SetupError(f"model {spec!r} needs a package that is not installed: {error}") from None
    except ValueError as error:
        raise InputError(f"model spec {spec!r}: {error}", field="model") from None


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
    def from_specs(cls, expert: str = "local", reviewer: str | None = None, responder: str | None = None,
                   improver: str | None = None, **kwargs):
        built: dict[str, BaseChatModel] = {}

        def get(spec: str) -> BaseChatModel:
            if spec not in built:
                built[spec] = make_chat_model(spec, **kwargs)
            return built[spec]

        return cls(get(expert), get(reviewer or expert), get(responder or expert), get(improver) if improver else None)

    def load(self):
        """Load in-process weights now, so a missing model fails before a run writes anything."""
        for model in (self.expert, self.reviewer, self.responder, self.improver):
            getattr(model, "engine", None)  # LocalChatModel loads (once per folder) on first access
