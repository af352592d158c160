"""Content marks: [placeholders] in square brackets, a postscript, and a fixed answer sentence
("My answer is yes.").

A placeholder is any bracketed text on one line that is not a markdown link. A postscript is a
line starting with its marker ("P.S." / "P.P.S."), matched case-insensitively.
"""

from __future__ import annotations

import re

from .base import ConstraintType, Param, number_cue, plural, text_cue

PLACEHOLDER = re.compile(r"\[[^\[\]\n]*[^\s\[\]][^\[\]\n]*\](?!\()")
MARKERS = ("P.S.", "P.P.S.")
ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def has_postscript(response: str, postscript_marker: str) -> bool:
    marker = r"\s?".join(re.escape(part) for part in postscript_marker.replace(" ", ""))
    marker = marker.replace(r"\s?\.", r"\.")
    return re.search(rf"^\W*{marker}", response, flags=re.IGNORECASE | re.MULTILINE) is not None


PLACEHOLDERS = ConstraintType(
    id="detectable_content:number_placeholders",
    params={"num_placeholders": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_placeholders": rng.randint(1, 4)},
    phrasings=(
        lambda k: f"Leave at least {plural(k['num_placeholders'], 'placeholder')} for the reader to fill in, written in square brackets like [city].",
        lambda k: f"Put at least {plural(k['num_placeholders'], 'fill-in placeholder')} in square brackets (for example [date]) in the reply.",
    ),
    check=lambda response, num_placeholders: len(PLACEHOLDER.findall(response)) >= num_placeholders,
    cues=lambda k: [r"placeholder", r"square brackets|\[", number_cue(k["num_placeholders"])],
)

POSTSCRIPT = ConstraintType(
    id="detectable_content:postscript",
    params={"postscript_marker": Param(str, choices=MARKERS)},
    sample=lambda rng, _: {"postscript_marker": rng.choice(MARKERS)},
    phrasings=(
        lambda k: f"Close the reply with a postscript on its own line that begins with \"{k['postscript_marker']}\".",
        lambda k: f"After the main text, add a brief postscript on a new line starting with \"{k['postscript_marker']}\".",
    ),
    check=has_postscript,
    cues=lambda k: [text_cue(k["postscript_marker"]).replace(r"(?!\w)", "")],
    conflicts=frozenset({"startend:end_checker"}),
)

CONSTRAINED_RESPONSE = ConstraintType(
    id="detectable_format:constrained_response",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "Give your verdict by writing exactly one of \"My answer is yes.\", \"My answer is no.\" or \"My answer is maybe.\" in the reply, and none of the others.",
        lambda k: "Pick one verdict and state it with exactly one of these sentences: \"My answer is yes.\", \"My answer is no.\", \"My answer is maybe.\"",
    ),
    check=lambda response: sum(answer in response for answer in ANSWERS) == 1,
    cues=lambda k: [text_cue(answer[:-1]) for answer in ANSWERS],
)

TYPES = (PLACEHOLDERS, POSTSCRIPT, CONSTRAINED_RESPONSE)
