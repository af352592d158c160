"""Layout constraints: a <<title>>, markdown bullets, *highlighted* sections, numbered SECTION
headers, and an answer that is nothing but JSON.

JSON output excludes every other layout or wrapping constraint (and a ban on commas): a JSON
document has no room for a title, sections, a postscript or a closing phrase.
"""

from __future__ import annotations

import json
import re

from .base import ConstraintType, Param, label, number_cue, plural, sentence, verb

TITLE = re.compile(r"<<([^\n<>]+)>>")
BULLET = re.compile(r"^\s*[*-]\s+\S", re.MULTILINE)
HIGHLIGHT = re.compile(r"(?<!\*)(\*{1,2})(?![\s*])([^\n*]+?)(?<![\s*])\1(?!\*)")
FENCE = re.compile(r"\s*```(?:json)?[ \t]*\n?(.*?)\n?\s*```\s*", re.DOTALL | re.IGNORECASE)
SPLITTERS = ("SECTION", "PART")


def is_json(response: str) -> bool:
    """The whole response (a ```json fence around it allowed) is one JSON object or array."""
    fenced = FENCE.fullmatch(response)
    try:
        value = json.loads(fenced.group(1) if fenced else response)
    except ValueError:
        return False
    return isinstance(value, (dict, list))


def _headers(k: dict) -> str:
    """"SECTION 1, SECTION 2 and SECTION 3" for the sampled splitter and count."""
    names = [f"{k['section_spliter']} {i}" for i in range(1, k["num_sections"] + 1)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def count_sections(response: str, section_spliter: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(section_spliter)}\s+\d+\b", response))


TITLE_TYPE = ConstraintType(
    id="detectable_format:title",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        verb(lambda k: "Give the reply a title enclosed in << and >>, for example <<Notes on Tides>>."),
        verb(lambda k: "Include a title set inside double angle brackets, e.g. <<Your Title Here>>."),
        verb(lambda k: "Please start with a title written between << and >>, like <<A Short Guide>>."),
        sentence(lambda k: "Your answer should carry a title wrapped in double angle brackets, such as <<Morning Routines>>."),
        label(lambda k: "Title: required, in the form <<Title Words>>."),
        sentence(lambda k: "I need a title for the reply, placed inside << and >> (for instance <<Why It Matters>>)."),
    ),
    heldout=(
        label(lambda k: "<<A title like this>>: put one at the top of the response."),
        sentence(lambda k: "The response must open with a title surrounded by double angular brackets, as in <<Field Notes>>."),
    ),
    check=lambda response: any(m.group(1).strip() for m in TITLE.finditer(response)),
    cues=lambda k: [r"\btitle\b", r"<<|angular|angle brackets"],
)

BULLETS = ConstraintType(
    id="detectable_format:number_bullet_lists",
    params={"num_bullets": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_bullets": rng.randint(2, 5)},
    phrasings=(
        verb(lambda k: f"Include exactly {plural(k['num_bullets'], 'bullet point')}, each on its own line beginning with \"* \"."),
        sentence(lambda k: f"The reply needs exactly {k['num_bullets']} markdown bullet lines (each opening with \"- \" or \"* \"), no more and no fewer."),
        verb(lambda k: f"Please list your points as exactly {plural(k['num_bullets'], 'markdown bullet')}, one per line, each starting with \"* \"."),
        sentence(lambda k: f"Your answer should contain precisely {plural(k['num_bullets'], 'bullet point')} written as lines that begin with \"* \", and no other bullet lines."),
        label(lambda k: f"Bullets: exactly {k['num_bullets']}, each a line of its own opening with \"* \"."),
        sentence(lambda k: f"I need a bullet list of exactly {plural(k['num_bullets'], 'item')}, every item on a new line that starts with \"* \"."),
    ),
    heldout=(
        label(lambda k: f"{plural(k['num_bullets'], 'bullet point')} exactly (lines starting with \"* \"): no more, no less."),
        verb(lambda k: f"Format the key ideas as a markdown list of precisely {k['num_bullets']} bullets, each line beginning with \"* \"."),
    ),
    check=lambda response, num_bullets: len(BULLET.findall(response)) == num_bullets,
    cues=lambda k: [r"\bbullet", number_cue(k["num_bullets"])],
)

HIGHLIGHTS = ConstraintType(
    id="detectable_format:number_highlighted_sections",
    params={"num_highlights": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_highlights": rng.randint(1, 4)},
    phrasings=(
        verb(lambda k: f"Pick at least {plural(k['num_highlights'], 'phrase')} to highlight with markdown, surrounding each with asterisks as in *key point*."),
        verb(lambda k: f"Emphasize at least {plural(k['num_highlights'], 'passage')} with markdown highlighting: put asterisks around each, like *this*."),
        verb(lambda k: f"Please highlight {k['num_highlights']} or more parts of the reply by wrapping them in single asterisks, e.g. *main idea*."),
        sentence(lambda k: f"Your answer should include at least {plural(k['num_highlights'], 'highlighted span')}, each marked *like so* with asterisks on both sides."),
        label(lambda k: f"Highlights: {k['num_highlights']} or more, each written as *highlighted text*."),
        sentence(lambda k: f"I need at least {plural(k['num_highlights'], 'phrase')} highlighted in markdown, meaning wrapped in asterisks such as *this one*."),
    ),
    heldout=(
        label(lambda k: f"{k['num_highlights']} or more *highlighted* phrases (text between asterisks): include that many at minimum."),
        verb(lambda k: f"Mark no fewer than {plural(k['num_highlights'], 'section')} as highlighted by putting an asterisk on each side, as in *note*."),
    ),
    check=lambda response, num_highlights: len(HIGHLIGHT.findall(response)) >= num_highlights,
    cues=lambda k: [r"highlight", number_cue(k["num_highlights"])],
)

SECTIONS = ConstraintType(
    id="detectable_format:multiple_sections",
    params={"section_spliter": Param(str, choices=SPLITTERS), "num_sections": Param(int, 1, 20)},
    sample=lambda rng, _: {"section_spliter": rng.choice(SPLITTERS), "num_sections": rng.randint(2, 5)},
    phrasings=(
        verb(lambda k: f"Divide the reply into exactly {plural(k['num_sections'], 'section')}, opening each with a header of the form {k['section_spliter']} X, where X is its number ({k['section_spliter']} 1 for the first)."),
        verb(lambda k: f"Lay out your reply as exactly {k['num_sections']} numbered sections, each headed by \"{k['section_spliter']}\" and its number, starting from {k['section_spliter']} 1."),
        verb(lambda k: f"Please organise the answer in precisely {plural(k['num_sections'], 'part')}, labelled {_headers(k)}."),
        sentence(lambda k: f"Your answer should have exactly {plural(k['num_sections'], 'section')}, each introduced by a line such as {k['section_spliter']} 1, {k['section_spliter']} 2 and so on, in capitals."),
        label(lambda k: f"Sections: exactly {k['num_sections']}, headed {_headers(k)}."),
        sentence(lambda k: f"I need the reply split into exactly {plural(k['num_sections'], 'numbered section')}; write the word {k['section_spliter']} in capitals followed by the number at the start of each."),
    ),
    heldout=(
        label(lambda k: f"{_headers(k)}: one header per section, exactly {k['num_sections']} in all."),
        sentence(lambda k: f"The response must consist of precisely {k['num_sections']} sections, marked in order by the headers {_headers(k)}."),
    ),
    check=lambda response, section_spliter, num_sections: count_sections(response, section_spliter) == num_sections,
    # the count must appear outside the headers it lists ("SECTION 2" does not state 2 sections)
    cues=lambda k: [rf"(?-i:\b{k['section_spliter']}\b)", rf"(?<!{k['section_spliter']} )(?:{number_cue(k['num_sections'])})"],
    conflicts=frozenset({"combination:two_responses"}),
)

JSON_FORMAT = ConstraintType(
    id="detectable_format:json_format",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        verb(lambda k: "Format the entire reply as valid JSON (an object or an array), optionally inside a ```json code block, with no text outside it."),
        sentence(lambda k: "Your whole reply must be one JSON object or array, with nothing before or after it."),
        verb(lambda k: "Please answer with a single valid JSON object and no prose around it."),
        sentence(lambda k: "Your answer should be machine-readable JSON only: one object or array that parses cleanly."),
        label(lambda k: "Output format: JSON, a single object or array, nothing else."),
        sentence(lambda k: "I need the reply as pure JSON (a ```json fence around it is fine) with no explanation outside it."),
    ),
    heldout=(
        label(lambda k: "JSON only: the full response is one parseable object or array, with no surrounding text."),
        verb(lambda k: "Return nothing but valid JSON, structured as one object or list."),
    ),
    check=is_json,
    cues=lambda k: [r"\bjson\b"],
    conflicts=frozenset({
        "detectable_format:title", "detectable_format:number_bullet_lists", "detectable_format:number_highlighted_sections",
        "detectable_format:multiple_sections", "detectable_content:postscript", "detectable_content:number_placeholders",
        "detectable_format:constrained_response", "length_constraints:number_sentences", "combination:two_responses",
        "combination:repeat_prompt", "startend:quotation", "startend:end_checker", "startend:first_word", "punctuation:no_comma",
    }),
)

TYPES = (TITLE_TYPE, BULLETS, HIGHLIGHTS, SECTIONS, JSON_FORMAT)
