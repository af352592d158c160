"""Offline sentence splitting and word tokenizing for the constraint verifiers.

Rule-based and dependency-free (no NLTK data, no models), so verification gives the same answer on
every machine. The rules:
  - a line break ends a sentence (answers are not hard-wrapped; list items and headings are lines);
  - within a line, a sentence ends after `.`, `!`, `?` or `…` (optionally followed by closing quotes
    or brackets) when whitespace and then something other than a lower-case letter follows;
  - a period does not end a sentence after a known abbreviation ("Dr.", "e.g."), an initial
    ("J. K. Rowling") or a list number at the start of a line ("1. First step").
A word is a run of letters or digits; apostrophes and hyphens inside a word ("don't", "well-known")
and separators inside a number ("3.14", "1,000") keep it one word.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf approx no fig al inc ltd co corp dept est govt "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft vol ed eds p pp ca".split()
)
WORD = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:['’-][^\W_]+)*")
# end punctuation, optional closing quotes/brackets, then the whitespace that follows
BOUNDARY = re.compile(r"(?:[.!?…]+)[\"'’”»)\]]*(?=\s+(\S))")
LIST_NUMBER = re.compile(r"^\s*(?:\d+|[a-zA-Z])\.$")


def words(text: str) -> list[str]:
    """The words of `text`, in order, punctuation and markup left out."""
    return WORD.findall(text)


def _ends_sentence(line: str, match: re.Match) -> bool:
    after = match.group(1)
    if after.islower():
        return False
    if line[match.start()] != ".":
        return True
    before = line[: match.start()].split()
    token = before[-1].lower().lstrip("(\"'“‘") if before else ""
    if LIST_NUMBER.match(line[: match.start() + 1]):
        return False  # "1. First step" / "a. option"
    if len(token) == 1 and token.isalpha() and before[-1][-1:].isupper():
        return False  # an initial: "J. K. Rowling"
    if token in ABBREVIATIONS:
        return token == "etc" and after.isupper()  # "etc." often closes a sentence
    return True


def sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, empty ones left out."""
    out = []
    for line in text.splitlines():
        start = 0
        for match in BOUNDARY.finditer(line):
            if _ends_sentence(line, match):
                out.append(line[start : match.end()].strip())
                start = match.end()
        out.append(line[start:].strip())
    return [s for s in out if words(s) or s.strip(" \t*-#>")]


def paragraphs(text: str, separator: str = r"\n\s*\n") -> list[str]:
    """The parts of `text` between separators (a regular expression; default: blank lines), stripped."""
    return [p.strip() for p in re.split(separator, text.strip())]
