"""Content marks: [placeholders] in square brackets, a postscript, and a fixed answer sentence
("My answer is yes.").

A placeholder is any bracketed text on one line that is not a markdown link. A postscript is a
line starting with its marker ("P.S." / "P.P.S."), matched case-insensitively.
"""

from __future__ import annotations

import re

from .base import ConstraintType, Param, label, number_cue, plural, sentence, text_cue, verb

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
        verb(lambda k: f"Leave at least {plural(k['num_placeholders'], 'placeholder')} for the reader to fill in, written in square brackets like [city]."),
        verb(lambda k: f"Put at least {plural(k['num_placeholders'], 'fill-in placeholder')} in square brackets (for example [date]) in the reply."),
        verb(lambda k: f"Please include {k['num_placeholders']} or more placeholders such as [name], each inside square brackets."),
        sentence(lambda k: f"Your answer should contain no fewer than {plural(k['num_placeholders'], 'bracketed placeholder')}, written like [address]."),
        label(lambda k: f"Placeholders: at least {k['num_placeholders']}, each in square brackets, e.g. [company]."),
        sentence(lambda k: f"I need a minimum of {plural(k['num_placeholders'], 'placeholder')} the reader can replace, each enclosed in square brackets like [time]."),
    ),
    heldout=(
        label(lambda k: f"{k['num_placeholders']} or more [square bracket] placeholders: leave them for details to be filled in later."),
        sentence(lambda k: f"The text has to keep at least {plural(k['num_placeholders'], 'blank')} as placeholders in square brackets, for instance [phone number]."),
    ),
    check=lambda response, num_placeholders: len(PLACEHOLDER.findall(response)) >= num_placeholders,
    cues=lambda k: [r"placeholder", r"square brackets|\[", number_cue(k["num_placeholders"])],
)

POSTSCRIPT = ConstraintType(
    id="detectable_content:postscript",
    params={"postscript_marker": Param(str, choices=MARKERS)},
    sample=lambda rng, _: {"postscript_marker": rng.choice(MARKERS)},
    phrasings=(
        verb(lambda k: f"Close the reply with a postscript on its own line that begins with \"{k['postscript_marker']}\"."),
        verb(lambda k: f"After the main text, add a brief postscript on a new line starting with \"{k['postscript_marker']}\"."),
        verb(lambda k: f"Please finish with a short note on a separate line that opens with {k['postscript_marker']}"),
        sentence(lambda k: f"Your answer should end with a postscript, a new line beginning \"{k['postscript_marker']}\"."),
        label(lambda k: f"Postscript: required, on its own line, starting with {k['postscript_marker']}"),
        sentence(lambda k: f"I need a line starting with \"{k['postscript_marker']}\" after the body of the reply."),
    ),
    heldout=(
        label(lambda k: f"\"{k['postscript_marker']}\" at the start of a final line, followed by an afterthought: add that below the answer."),
        sentence(lambda k: f"The response must include an afterthought on a line of its own that starts with {k['postscript_marker']}"),
    ),
    check=has_postscript,
    # "P.S." must not be read inside "P.P.S."
    cues=lambda k: [text_cue(k["postscript_marker"]).replace(r"(?!\w)", "").replace(r"(?<!\w)", r"(?<![\w.])")],
    conflicts=frozenset({"startend:end_checker"}),
)

CONSTRAINED_RESPONSE = ConstraintType(
    id="detectable_format:constrained_response",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        verb(lambda k: "Give your verdict by writing exactly one of \"My answer is yes.\", \"My answer is no.\" or \"My answer is maybe.\" in the reply, and none of the others."),
        verb(lambda k: "Pick one verdict and state it with exactly one of these sentences: \"My answer is yes.\", \"My answer is no.\", \"My answer is maybe.\""),
        verb(lambda k: "Please commit to a verdict using one sentence, and only one, from \"My answer is yes.\", \"My answer is no.\" and \"My answer is maybe.\""),
        sentence(lambda k: "Your answer should contain exactly one of the sentences \"My answer is yes.\", \"My answer is no.\" or \"My answer is maybe.\", never two of them."),
        label(lambda k: "Verdict: one of \"My answer is yes.\", \"My answer is no.\", \"My answer is maybe.\" (use just one, word for word)."),
        sentence(lambda k: "I need you to include one, and only one, of these exact sentences: \"My answer is yes.\", \"My answer is no.\", \"My answer is maybe.\""),
    ),
    heldout=(
        label(lambda k: "\"My answer is yes.\", \"My answer is no.\" or \"My answer is maybe.\": choose a single one of these and write it verbatim."),
        sentence(lambda k: "The reply must settle on a verdict, phrased as exactly one of \"My answer is yes.\", \"My answer is no.\" and \"My answer is maybe.\""),
    ),
    check=lambda response: sum(answer in response for answer in ANSWERS) == 1,
    cues=lambda k: [text_cue(answer[:-1]) for answer in ANSWERS],
)

TYPES = (PLACEHOLDERS, POSTSCRIPT, CONSTRAINED_RESPONSE)
