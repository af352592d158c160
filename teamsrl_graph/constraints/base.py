"""What a verifiable constraint type is made of, and the small helpers its parts share.

A type is plain data plus four functions: how to draw its kwargs, how to say it, how to check a
response, and what an instruction must mention to still state it. The types themselves live in
the modules named after their family (length, keywords, case, formatting, startend,
content, combination); the registry module puts them together.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable

RELATIONS = ("at least", "at most", "exactly")
# how an instruction may word each relation (for `stated`); lenient on purpose
# (word-bounded, and "no more than" is not read as "more than", nor "no fewer than" as "fewer than")
RELATION_CUES = {
    "at least": r"\bat least\b|\bor more\b|\bno (?:fewer|less) than\b|\bminimum\b|(?<!no )(?<!not )\bmore than\b|\bover\b",
    "at most": r"\bat most\b|\bor (?:fewer|less)\b|\bnot? more than\b|\bmaximum\b|\bup to\b"
    r"|(?<!no )(?<!not )\b(?:fewer|less) than\b|\bunder\b|\bexceed",
    "exactly": r"\bexactly\b|\bprecisely\b",
}
# ways to write "<relation> <n> <unit>s" (style index -> template per relation), for varied phrasings
AMOUNT_STYLES = {
    "at least": ("at least {n} {u}", "{n} {u} or more", "no fewer than {n} {u}", "a minimum of {n} {u}"),
    "at most": ("at most {n} {u}", "{n} {u} or fewer", "no more than {n} {u}", "a maximum of {n} {u}"),
    "exactly": ("exactly {n} {u}", "precisely {n} {u}", "exactly {n} {u}", "precisely {n} {u}"),
}
# how a phrasing may join a task sentence when woven into it (see `compose`)
FORMS = (
    "verb",  # an imperative ("Use ..."): may follow the task after ", and " or " — ", first letter lowered
    "sentence",  # a full sentence with its own subject ("Your reply ..."): may follow the task after " — "
    "label",  # noun-first or number-first ("Length: ...", "150 words at least"): stands alone only
)
NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split()
)


@dataclass(frozen=True)
class Param:
    kind: type  # int, str or list (a list of non-empty strings)
    low: int | None = None  # smallest allowed int (or list length)
    high: int | None = None  # largest allowed int (or list length)
    choices: tuple = ()  # allowed values, when the set is closed


@dataclass(frozen=True)
class Phrasing:
    """One way to say a constraint: kwargs -> a sentence, and how that sentence may join a task."""

    say: Callable[[dict], str]  # kwargs -> the sentence, ending in punctuation
    form: str = "sentence"  # one of FORMS

    def __call__(self, kwargs: dict) -> str:
        return self.say(kwargs)


def verb(say: Callable[[dict], str]) -> Phrasing:
    return Phrasing(say, "verb")


def sentence(say: Callable[[dict], str]) -> Phrasing:
    return Phrasing(say, "sentence")


def label(say: Callable[[dict], str]) -> Phrasing:
    return Phrasing(say, "label")


@dataclass(frozen=True)
class ConstraintType:
    id: str  # IFEval-style id, "family:name"
    params: dict[str, Param]  # kwarg name -> what it may hold
    sample: Callable[[random.Random, str], dict | None]  # kwargs from a seeded generator and the instruction
    phrasings: tuple[Phrasing, ...]  # training phrasings: kwargs -> a sentence stating the constraint
    check: Callable[..., bool]  # strict verifier: check(response, **kwargs)
    cues: Callable[[dict], list[str]]  # regexes an instruction must all match to still state it
    conflicts: frozenset[str] = field(default_factory=frozenset)  # ids it cannot be combined with
    heldout: tuple[Phrasing, ...] = ()  # phrasings kept for evaluation only, never used to build training data


def compare(count: int, relation: str, target: int) -> bool:
    """`count` against `target` under "at least" / "at most" / "exactly"."""
    if relation == "at least":
        return count >= target
    if relation == "at most":
        return count <= target
    return count == target


def number_cue(n: int) -> str:
    """A regex for `n` written as digits or (up to twenty) as a word."""
    cue = rf"(?<![\w.,]){n}(?!\w|[.,]\d)"
    return cue + (rf"|\b{NUMBER_WORDS[n]}\b" if 0 <= n < len(NUMBER_WORDS) else "")


def text_cue(value: str) -> str:
    """A regex for `value` as it is, case and spacing aside, not inside a longer word."""
    body = r"\s+".join(re.escape(part) for part in value.split())
    return rf"(?<!\w){body}(?!\w)"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def amount(relation: str, n: int, word: str, style: int = 0) -> str:
    """"at least 150 words" (style 0), "150 words or more" (1), "no fewer than 150 words" (2), ..."""
    unit = word if n == 1 else word + "s"
    return AMOUNT_STYLES[relation][style].format(n=n, u=unit)


def times(n: int) -> str:
    """"once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def quoted_list(items: list[str]) -> str:
    """'a', 'b' and 'c'."""
    parts = [f"'{item}'" for item in items]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def count_word(text: str, word: str) -> int:
    """Whole-word, case-insensitive occurrences of `word` (which may contain spaces) in `text`."""
    return len(re.findall(text_cue(word), text, flags=re.IGNORECASE))


def loose_variants(response: str) -> list[str]:
    """The response as the loose check also reads it: first and/or last line dropped, `*` removed."""
    lines = response.split("\n")
    cut = [response, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return cut + [text.replace("*", "") for text in cut]
