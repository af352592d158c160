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
        lambda k: "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>.",
        lambda k: "Give your answer a title in double angular brackets, like <<my title>>.",
    ),
    check=lambda response: any(m.group(1).strip() for m in TITLE.finditer(response)),
    cues=lambda k: [r"\btitle\b", r"<<|angular|angle brackets"],
)

BULLETS = ConstraintType(
    id="detectable_format:number_bullet_lists",
    params={"num_bullets": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_bullets": rng.randint(2, 5)},
    phrasings=(
        lambda k: f"Your answer must contain exactly {plural(k['num_bullets'], 'bullet point')}, written as markdown bullets such as \"* This is a point.\"",
        lambda k: f"Use exactly {plural(k['num_bullets'], 'bullet point')} in markdown (lines starting with \"* \").",
    ),
    check=lambda response, num_bullets: len(BULLET.findall(response)) == num_bullets,
    cues=lambda k: [r"\bbullet", number_cue(k["num_bullets"])],
)

HIGHLIGHTS = ConstraintType(
    id="detectable_format:number_highlighted_sections",
    params={"num_highlights": Param(int, 1, 50)},
    sample=lambda rng, _: {"num_highlights": rng.randint(1, 4)},
    phrasings=(
        lambda k: f"Highlight at least {plural(k['num_highlights'], 'section')} in your answer with markdown, i.e. *highlighted section*.",
        lambda k: f"Mark at least {plural(k['num_highlights'], 'part')} of your answer as *highlighted* using markdown asterisks.",
    ),
    check=lambda response, num_highlights: len(HIGHLIGHT.findall(response)) >= num_highlights,
    cues=lambda k: [r"highlight", number_cue(k["num_highlights"])],
)

SECTIONS = ConstraintType(
    id="detectable_format:multiple_sections",
    params={"section_spliter": Param(str, choices=SPLITTERS), "num_sections": Param(int, 1, 20)},
    sample=lambda rng, _: {"section_spliter": rng.choice(SPLITTERS), "num_sections": rng.randint(2, 5)},
    phrasings=(
        lambda k: f"Your response must have exactly {plural(k['num_sections'], 'section')}. Mark the beginning of each section with {k['section_spliter']} X, such as: {k['section_spliter']} 1.",
        lambda k: f"Split your answer into {k['num_sections']} numbered sections, each starting with \"{k['section_spliter']} X\" (X = 1, 2, ...).",
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
        lambda k: "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```.",
        lambda k: "Reply with a single JSON object and nothing else.",
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
