"""Repairs: small, fixed edits that make an answer meet a constraint it missed.

A sampled answer often does the task and misses a mark the model rarely writes on its own: all
lowercase, a closing phrase, a postscript, double quotes around it. `repair` applies the edit for
each constraint the answer fails (lowercase it, append the phrase, wrap it) and hands back the
edited answer only when `verification.verify` then passes every constraint the instruction carries.
The verifier still decides; a repair only proposes.

What it does not do: write new content. Types that would need it (at least N words, a keyword N
times, two different answers, a letter count) have no repair, and an answer failing one of them
stays failed. Layout repairs regroup the answer's own sentences (bullets, sections, paragraphs,
highlights), so they need enough sentences to work with.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from .base import compare
from .content import ANSWERS
from .formatting import BULLET
from .verification import verify
from .text import sentences, words

CAPITAL_WORD = re.compile(r"\b[A-Z][A-Z]+\b")


def _groups(response: str, count: int) -> list[str] | None:
    """The answer's sentences in `count` consecutive groups, or None if it has fewer sentences."""
    found = [BULLET.sub(lambda m: m.group(0)[-1], s).strip() for s in sentences(response)]
    found = [s for s in found if words(s)]
    if count < 1 or len(found) < count:
        return None
    size, extra = divmod(len(found), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(" ".join(found[start:end]))
        start = end
    return groups


def _keep_sentences(response: str, fits) -> str | None:
    """The longest run of leading sentences for which `fits(text)` holds, or None if none does."""
    found = sentences(response)
    for end in range(len(found), 0, -1):
        text = " ".join(found[:end])
        if fits(text):
            return text
    return None


def _title(response: str, instruction: str, k: dict) -> str:
    task = re.split(r"[.?!:\n—]", instruction.strip(), maxsplit=1)[0]
    name = " ".join(words(task)[:6]).strip() or "Answer"
    return f"<<{name[:1].upper() + name[1:]}>>\n\n{response}"


def _bullets(response: str, instruction: str, k: dict) -> str | None:
    groups = _groups(response, k["num_bullets"])
    return None if groups is None else "\n".join(f"* {g}" for g in groups)


def _highlights(response: str, instruction: str, k: dict) -> str | None:
    lines = [s.replace("*", "") for s in sentences(response)]
    if len(lines) < k["num_highlights"]:
        return None
    marked = [f"*{s}*" if i < k["num_highlights"] else s for i, s in enumerate(lines)]
    return "\n".join(marked)


def _sections(response: str, instruction: str, k: dict) -> str | None:
    groups = _groups(response, k["num_sections"])
    if groups is None:
        return None
    return "\n\n".join(f"{k['section_spliter']} {i}\n{g}" for i, g in enumerate(groups, 1))


def _paragraphs(response: str, instruction: str, k: dict) -> str | None:
    n = k["num_paragraphs"]
    target = min(n, max(len(sentences(response)), 1)) if k["relation"] == "at most" else n
    groups = _groups(response, target)
    return None if groups is None else "\n\n***\n\n".join(groups)


def _words(response: str, instruction: str, k: dict) -> str | None:
    if k["relation"] == "at least":
        return None
    return _keep_sentences(response, lambda text: compare(len(words(text)), k["relation"], k["num_words"]))


def _sentences(response: str, instruction: str, k: dict) -> str | None:
    if k["relation"] == "at least":
        return None
    return _keep_sentences(response, lambda text: compare(len(sentences(text)), k["relation"], k["num_sentences"]))


def _forbidden(response: str, instruction: str, k: dict) -> str:
    for word in k["forbidden_words"]:
        response = re.sub(rf"\s*(?<!\w){re.escape(word)}(?!\w)", "", response, flags=re.IGNORECASE)
    return response


def _existence(response: str, instruction: str, k: dict) -> str:
    return f"{response.rstrip()}\n\nKey words: {' and '.join(k['keywords'])}."


def _placeholders(response: str, instruction: str, k: dict) -> str:
    marks = " ".join(f"[detail {i}]" for i in range(1, k["num_placeholders"] + 1))
    return f"{response.rstrip()}\n\nTo fill in: {marks}."


def _verdict(response: str, instruction: str, k: dict) -> str | None:
    if sum(answer in response for answer in ANSWERS) != 0:
        return None  # two verdicts: which one the answer meant is not for an edit to decide
    return f"{response.rstrip()}\n\nMy answer is maybe."


def _capital_words(response: str, instruction: str, k: dict) -> str | None:
    relation, n = k["capital_relation"], k["capital_frequency"]
    if relation == "at most":
        found = list(CAPITAL_WORD.finditer(response))
        for match in reversed(found[n:]):
            response = response[: match.start()] + match.group(0).capitalize() + response[match.end():]
        return response
    return None


def _no_comma(response: str, instruction: str, k: dict) -> str:
    return re.sub(r"\s*[,，]\s*", " ", response)


def _first_word(response: str, instruction: str, k: dict) -> str:
    return f"{k['first_word']}: {response.lstrip()}"


def _end(response: str, instruction: str, k: dict) -> str:
    return f"{response.rstrip()}\n\n{k['end_phrase']}"


def _postscript(response: str, instruction: str, k: dict) -> str:
    return f"{response.rstrip()}\n\n{k['postscript_marker']} I can go into more detail on any part of this."


def _repeat(response: str, instruction: str, k: dict) -> str:
    return f"{k['prompt_to_repeat'].strip()}\n\n{response.lstrip()}"


def _json(response: str, instruction: str, k: dict) -> str:
    return json.dumps({"answer": response.strip()}, ensure_ascii=False)


def _quote(response: str, instruction: str, k: dict) -> str:
    return f"\"{response.strip().strip(chr(34))}\""


# type id -> edit(response, instruction, kwargs) -> edited response (or None: no edit fits).
# Listed in the order they apply: content first, then layout, added lines, case, and the wrappers
# that must stay outermost (first word, closing phrase, quotes) last.
REPAIRS = {
    "keywords:forbidden_words": _forbidden,
    "punctuation:no_comma": _no_comma,
    "length_constraints:number_words": _words,
    "length_constraints:number_sentences": _sentences,
    "keywords:existence": _existence,
    "detectable_content:number_placeholders": _placeholders,
    "detectable_format:constrained_response": _verdict,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:number_highlighted_sections": _highlights,
    "detectable_format:multiple_sections": _sections,
    "length_constraints:number_paragraphs": _paragraphs,
    "detectable_format:title": _title,
    "detectable_content:postscript": _postscript,
    "combination:repeat_prompt": _repeat,
    "detectable_format:json_format": _json,
    "change_case:capital_word_frequency": _capital_words,
    "startend:first_word": _first_word,
    "startend:end_checker": _end,
    "change_case:english_lowercase": lambda response, instruction, k: response.lower(),
    "change_case:english_capital": lambda response, instruction, k: response.upper(),
    "startend:quotation": _quote,
}


class Repaired(NamedTuple):
    """An answer the edits made pass (`repair`)."""
    text: str  # the edited answer
    repaired: list[str]  # ids of the constraints it was edited for, in the order the edits ran
    verification: dict  # `verification.verify` of the edited answer: every constraint passes (strict)


def repair(response: str, constraints: list[dict], instruction: str = "") -> Repaired | None:
    """The edited answer when the edits make `response` pass every constraint in `constraints`
    strictly; None when it already passes, a failing type has no repair, or the edited answer
    still fails."""
    if not response.strip() or not constraints:
        return None
    results = verify(response, constraints)
    if results["strict"]:
        return None
    failing = {r["id"] for r in results["results"] if not r["strict"]}
    if not failing <= set(REPAIRS):
        return None
    edited, repaired = response, []
    by_id = {c["id"]: c.get("kwargs") or {} for c in constraints}
    for type_id, edit in REPAIRS.items():
        # checked against the answer as edited so far: an earlier edit may break a mark that held
        if type_id not in by_id or verify(edited, [{"id": type_id, "kwargs": by_id[type_id]}])["strict"]:
            continue
        edited = edit(edited, instruction, by_id[type_id])
        if edited is None or not edited.strip():
            return None
        repaired.append(type_id)
    verification = verify(edited, constraints)
    return Repaired(edited, repaired, verification) if verification["strict"] else None
