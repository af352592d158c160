"""Prompt templates: plain-text files users edit, validated when loaded, rendered without eval.

A template file has up to three sections, each opened by a line `[system]`, `[user]` or
`[assistant]`. Lines before the first section that start with `#` are comments. The `[assistant]`
section is a *prefill*: the start of the model's reply, which in-process models continue (this is
what keeps a 135M model rewriting instead of answering); models that cannot continue a reply get it
as a final hint in the user message instead.

Placeholders are `{name}` with a plain identifier; `{{` and `}}` are literal braces. Each template
kind declares which placeholders it requires and allows: a missing or unknown one is an error naming
the file and placeholder. Rendering substitutes text once and never evaluates anything, so a value
containing braces or `{x.__class__}` stays literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

from ..evolve.actions import OPERATIONS
from .errors import InputError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

# template name -> (required placeholders, optional placeholders)
SCHEMAS: dict[str, tuple[frozenset, frozenset]] = {
    **{op: (frozenset({"instruction"}), frozenset({"input"})) for op in OPERATIONS},
    "add_constraints": (frozenset({"instruction"}), frozenset({"input", "requirement"})),  # requirement: a verifiable one
    "reviewer": (frozenset({"old", "new"}), frozenset()),  # did an in-depth operation gain?
    "reviewer_breadth": (frozenset({"old", "new"}), frozenset()),  # is a breadth result a new task?
    "responder": (frozenset({"instruction"}), frozenset({"input"})),
    "judge_pair": (frozenset({"instruction", "first", "second"}), frozenset()),  # `teamsrl eval` win rate
    "rate_answer": (frozenset({"instruction", "response"}), frozenset()),  # `teamsrl pit prefs` ranking
    "improve": (frozenset({"instruction", "response"}), frozenset({"input"})),  # the PIT improver
    "critique": (frozenset({"instruction", "response"}), frozenset({"input"})),  # Self-Refine: feedback
    "refine": (frozenset({"instruction", "response", "feedback"}), frozenset({"input"})),  # Self-Refine: rewrite
}
GRAPH_TEMPLATES = (*OPERATIONS, "reviewer", "reviewer_breadth", "responder")  # what the evolution graph loads
IMPROVE_TEMPLATES = {"none": (), "pit": ("improve",), "self-refine": ("critique", "refine")}  # ... plus, per improve mode

SECTIONS = ("system", "user", "assistant")
_SECTION = re.compile(r"^\[(system|user|assistant)\]\s*$")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_folder() -> Path:
    """The prompts shipped inside the package (`default_prompts` links to the repository's `prompts/`)."""
    return Path(str(resources.files("teamsrl_graph") / "default_prompts"))


@dataclass(frozen=True)
class Template:
    name: str  # file stem, e.g. "add_constraints"
    path: str  # where it was read from, for error messages
    sections: dict  # section name -> raw text

    def render(self, values: dict[str, str], prefill: bool = True) -> list[BaseMessage]:
        """Messages for a chat model. With prefill=False the assistant section becomes a hint."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # loaded with the graph, not the CLI

        text = {k: _substitute(v, values).strip() for k, v in self.sections.items()}
        messages: list[BaseMessage] = []
        if "system" in text:
            messages.append(SystemMessage(text["system"]))
        user = text.get("user", "")
        if "assistant" in text and not prefill:
            user += f"\n\nBegin your reply with: {text['assistant']}"
        messages.append(HumanMessage(user))
        if "assistant" in text and prefill:
            messages.append(AIMessage(text["assistant"]))
        return messages

    @property
    def prefill_text(self) -> str:
        return self.sections.get("assistant", "")

    def prefill_for(self, values: dict[str, str]) -> str:
        return _substitute(self.prefill_text, values)


def _substitute(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return str(values.get(match.group(1), ""))

    return _TOKEN.sub(one, text)


def parse(text: str, name: str, path: str = "<string>") -> Template:
    """Parse and validate one template's text (see the module docstring for the format)."""
    if name not in SCHEMAS:
        raise InputError(f"unknown template {name!r}; expected one of {sorted(SCHEMAS)}", path=path)
    sections: dict[str, list[str]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _SECTION.match(line)
        if m:
            current = m.group(1)
            if current in sections:
                raise InputError(f"section [{current}] appears twice", path=path, line=number)
            sections[current] = []
        elif current is None:
            if line.strip() and not line.startswith("#"):
                raise InputError("text before the first [system]/[user]/[assistant] line", path=path, line=number)
        else:
            sections[current].append(line)
            _check_placeholders(line, name, path, number)
    if "user" not in sections:
        raise InputError("a template needs a [user] section", path=path)
    joined = {k: "\n".join(v).strip("\n") for k, v in sections.items()}
    used = {m.group(1) for body in joined.values() for m in _TOKEN.finditer(body) if m.group(1)}
    required, _ = SCHEMAS[name]
    missing = required - used
    if missing:
        raise InputError(f"missing placeholder {{{sorted(missing)[0]}}}", path=path)
    return Template(name, path, joined)


def _check_placeholders(line: str, name: str, path: str, number: int):
    required, optional = SCHEMAS[name]
    for m in _TOKEN.finditer(line):
        token, field = m.group(0), m.group(1)
        if token in ("{{", "}}"):
            continue
        if field is None:
            raise InputError(f"unmatched brace {token!r} (write {token * 2} for a literal brace)", path=path, line=number)
        if not _NAME.match(field):
            raise InputError(f"placeholder {{{field}}} is not a plain name (no attributes, indexes or formats)", path=path, line=number)
        if field not in required | optional:
            allowed = ", ".join("{" + f + "}" for f in sorted(required | optional))
            raise InputError(f"unknown placeholder {{{field}}}; {name} takes {allowed}", path=path, line=number)


def load(name: str, folder: str | Path | None = None) -> Template:
    """Load template `name` from `folder` (a user's prompt folder) or the shipped defaults."""
    folder = Path(folder) if folder else default_folder()
    path = folder / f"{name}.txt"
    if not path.is_file():
        raise InputError(f"no template {name}.txt in prompt folder {folder}", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 ({error.reason} at byte {error.start})", path=path) from None
    return parse(text, name, str(path))


def load_all(folder: str | Path | None = None, names=GRAPH_TEMPLATES) -> dict[str, Template]:
    """Every template the graph needs, validated together so a broken folder fails before a run."""
    return {name: load(name, folder) for name in names}
