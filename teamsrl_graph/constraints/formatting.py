"""Layout constraints: a <<title>>, markdown bullets, *highlighted* sections, numbered SECTION
headers, and an answer that is nothing but JSON.

JSON output excludes every other layout or wrapping constraint (and a ban on commas): a JSON
document has no room for a title, sections, a postscript or a closing phrase.
"""

from __future__ import annotations

import json
import re

from .base import ConstraintType, Param, number_cue, plural

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


def count_sections(response: str, section_spliter: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(section_spliter)}\s+\d+\b", response))


TITLE_TYPE = ConstraintType(
    id="detectable_format:title",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "Give the reply a title enclosed in << and >>, for example <<Notes on Tides>>.",
        lambda k: "Include a title set inside double angle brackets, e.g. <<Your Title Here>>.",
    ),
    check=lambda response: any(m.group(1).strip() for m in TITLE.finditer(response)),
    cues=lambda k: [r"\btitle\b", r"<<|angular|angle brackets"],
)

BULLETS = ConstraintType(
    id="detectable_format:number_bullet_lists",
    params={"num_bullets": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_bullets": rng.randint(2, 5)},
    phrasings=(
        lambda k: f"Include exactly {plural(k['num_bullets'], 'bullet point')}, each on its own line beginning with \"* \".",
        lambda k: f"The reply needs exactly {k['num_bullets']} markdown bullet lines (each opening with \"- \" or \"* \"), no more and no fewer.",
    ),
    check=lambda response, num_bullets: len(BULLET.findall(response)) == num_bullets,
    cues=lambda k: [r"\bbullet", number_cue(k["num_bullets"])],
)

HIGHLIGHTS = ConstraintType(
    id="detectable_format:number_highlighted_sections",
    params={"num_highlights": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_highlights": rng.randint(1, 4)},
    phrasings=(
        lambda k: f"Pick at least {plural(k['num_highlights'], 'phrase')} to highlight with markdown, surrounding each with asterisks as in *key point*.",
        lambda k: f"Emphasize at least {plural(k['num_highlights'], 'passage')} with markdown highlighting: put asterisks around each, like *this*.",
    ),
    check=lambda response, num_highlights: len(HIGHLIGHT.findall(response)) >= num_highlights,
    cues=lambda k: [r"highlight", number_cue(k["num_highlights"])],
)

SECTIONS = ConstraintType(
    id="detectable_format:multiple_sections",
    params={"section_spliter": Param(str, choices=SPLITTERS), "num_sections": Param(int, 1, 20)},
    sample=lambda rng, _: {"section_spliter": rng.choice(SPLITTERS), "num_sections": rng.randint(2, 5)},
    phrasings=(
        lambda k: f"Divide the reply into exactly {plural(k['num_sections'], 'section')}, opening each with a header of the form {k['section_spliter']} X, where X is its number ({k['section_spliter']} 1 for the first).",
        lambda k: f"Lay out your reply as exactly {k['num_sections']} numbered sections, each headed by \"{k['section_spliter']}\" and its number, starting from {k['section_spliter']} 1.",
    ),
    check=lambda response, section_spliter, num_sections: count_sections(response, section_spliter) == num_sections,
    cues=lambda k: [rf"(?-i:\b{k['section_spliter']}\b)", number_cue(k["num_sections"])],
    conflicts=frozenset({"combination:two_responses"}),
)

JSON_FORMAT = ConstraintType(
    id="detectable_format:json_format",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "Format the entire reply as valid JSON (an object or an array), optionally inside a ```json code block, with no text outside it.",
        lambda k: "Your whole reply must be one JSON object or array, with nothing before or after it.",
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
