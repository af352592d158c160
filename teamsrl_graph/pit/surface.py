"""Surface statistics of a response: the form a sentence embedding does not see.

The gap model reads responses through MiniLM, which lower-cases its input and pools meaning: it
cannot tell "all in lowercase" from normal case, nor count paragraphs, bullets or commas. Requests
about form ask exactly that, so the gap model also gets these few numbers per response. They are
plain counts and shares, the same for every request; which of them matter for a request is what the
gap model learns from the preference pairs. Nothing here knows the constraint registry.
"""

from __future__ import annotations

import math
import re

import torch

from ..constraints.text import sentences, words

NAMES = ("words", "lowercase share", "uppercase share", "paragraphs", "bullet lines", "has <<title>>",
         "whole text quoted", "commas", "[placeholders]", "has P.S.", "sentences", "*highlights*",
         "starts as JSON or code", "lines")
SIZE = len(NAMES)


def statistics(text: str) -> list[float]:
    """The `NAMES` of one text, in order; counts as log(1 + count), shares and flags in [0, 1]."""
    letters = [c for c in text if c.isalpha()]
    cased = max(1, len(letters))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = text.strip()
    counts = {
        "words": len(words(text)),
        "paragraphs": len([p for p in re.split(r"\n\s*\n|\*\*\*", body) if p.strip()]),
        "bullet lines": sum(line.startswith(("* ", "- ")) for line in lines),
        "commas": text.count(","),
        "[placeholders]": len(re.findall(r"\[[^\[\]\n]+\]", text)),
        "sentences": len(sentences(text)),
        "*highlights*": len(re.findall(r"\*[^*\n]+\*", text)),
        "lines": len(lines),
    }
    flags = {
        "lowercase share": sum(c.islower() for c in letters) / cased,
        "uppercase share": sum(c.isupper() for c in letters) / cased,
        "has <<title>>": float(bool(re.search(r"<<[^<>\n]+>>", text))),
        "whole text quoted": float(len(body) > 1 and body[0] in "\"“" and body[-1] in "\"”"),
        "has P.S.": float(bool(re.search(r"\bP\.\s?(?:P\.\s?)?S\.", text))),
        "starts as JSON or code": float(body.startswith(("{", "[", "```"))),
    }
    return [math.log1p(counts[n]) if n in counts else flags[n] for n in NAMES]


def table(texts: list[str]) -> torch.Tensor:
    """`statistics` of each text, shape [B, SIZE]."""
    return torch.tensor([statistics(t) for t in texts], dtype=torch.float32).reshape(len(texts), SIZE)


def pair_features(references: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """From the `table`s of the references and the responses: [ref, y, y - ref] per pair, [B, 3 * SIZE]."""
    return torch.cat([references, responses, responses - references], dim=1)
