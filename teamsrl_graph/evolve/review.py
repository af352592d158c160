"""Cleaning an expert's rewrite and WizardLM's four elimination rules, as plain functions.

The rules (an evolution that fails any of them is rolled back):
  1. no information gain: the new instruction says nothing the old one did not (decided by the
     reviewer LLM, from its reply's probabilities where available, after a cheap exact-match check
     that needs no query);
  2. the answer is a refusal ("sorry", "as an AI") and short (< 80 words);
  3. the answer is only punctuation and stop words, or not an answer at all: far longer than the
     answer token cap allows (a server that ignored it), or the same words over and over (a
     generation loop);
  4. the new instruction copies template words ("#Rewritten Prompt#", "given prompt") or a
     "here is the rewritten ..." preamble, or is an answer rather than an instruction.

Rules 2 and 3 look at answers and run in the respond node; 1 and 4 look at instructions and run in
the review node. This module makes no LLM calls: it only parses and checks text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from ..running.budget import count_tokens

STOP_WORDS = frozenset(
    "a an the and or but if then so of to in on at by for with from as is are was were be been being it its "
    "this that these those i you he she we they me him her us them my your his our their what which who whom "
    "whose when where why how not no yes do does did done have has had can could will would shall should may "
    "might must just very too also there here all any some such only own same than up down out over under "
    "again once about into through during before after above below off ok okay".split()
)
TEMPLATE_WORDS = ("#given prompt#", "#rewritten prompt#", "given prompt", "rewritten prompt", "#created prompt#",
                  "rewritten instruction", "rewritten task", "original task", "original instruction", "new task:",
                  "the prompt", "this task", "the task", "the original", "the given text", "rewritten version",
                  "your role as", "as an editor")  # talk about the rewriting itself, not a task
PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|okay|ok)[,!.]?\s*)?(?:here(?:'s| is| are)\s+(?:a|an|the|my|your)?\s*"
    r"(?:rewritten|revised|new|reworked|modified|updated|more [a-z]+|harder|improved)?[^:\n]{0,60}:\s*|"
    r"(?:rewritten|revised|new|harder|modified)\s+(?:prompt|instruction|task|question|version)\s*:\s*)",
    re.IGNORECASE,
)
REFUSAL = re.compile(r"\b(sorry|i apologi[sz]e|as an ai\b|i can(?:no|')t (?:help|assist|provide|do that))", re.IGNORECASE)
ANSWER_OPENERS = re.compile(
    r"^\s*(?:sure|certainly|of course|yes|no|absolutely|great question|the answer|to answer|in conclusion|"
    r"i (?:will|would|think|am|can)|let me|here are|here's how|once upon)\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[A-Za-z0-9']+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOP_WORDS}


def clean_rewrite(text: str, prefill: str = "") -> str:
    """The instruction inside an expert's reply: preambles, quotes, labels and trailing notes removed.

    `prefill` is the start of the reply the model continued (prompt templates' [assistant] section);
    it is part of the instruction, and the continuation ends at its first line break. Otherwise the
    first paragraph is kept: small models run on after the instruction (an answer, a list, a note).
    """
    if prefill:  # a continued reply belongs to one line: what follows a line break is not the task
        text = prefill + text.lstrip("\n").split("\n", 1)[0] if not text.startswith(prefill) else text
    text = text.strip()
    for _ in range(2):  # "Sure! Here is the rewritten prompt: Rewritten prompt: ..."
        text = PREAMBLE.sub("", text, count=1).strip()
    text = re.split(r"\n\s*\n|\n\s*[-*_=#]{3,}", text, maxsplit=1)[0]  # first paragraph only
    text = re.sub(r"^\s*#+[^#\n]*#+\s*:?\s*", "", text)  # "#Rewritten Prompt#:" labels
    text = re.split(r"\n(?=\s*(?:note|explanation|this (?:rewritten|revised|new))\b)", text, flags=re.I)[0]
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] in "\"'“" and text[-1] in "\"'”":
        text = text[1:-1].strip()
    elif text and text[0] in "\"“" and text.count(text[0]) == 1:
        text = text[1:].strip()
    return text


@dataclass
class Verdict:
    accepted: bool  # the evolution is kept
    reason: str  # "gained", or which rule eliminated it
    score: float  # reward in [0, 1]: 0 when eliminated, higher for larger real gains

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "reason": self.reason, "score": round(self.score, 4)}


def check_instruction(old: str, new: str, op: str) -> Verdict | None:
    """Rule 4 and the free half of rule 1. Returns a rejecting Verdict, or None if the LLM must judge."""
    lowered = new.lower()
    if not new.strip() or not words(new):
        return Verdict(False, "empty", 0.0)
    if " ".join(words(new)) == " ".join(words(old)):
        return Verdict(False, "no_gain", 0.0)
    if any(w in lowered and w not in old.lower() for w in TEMPLATE_WORDS) or PREAMBLE.match(new):
        return Verdict(False, "template_copy", 0.0)
    if ANSWER_OPENERS.match(new) and not ANSWER_OPENERS.match(old):
        return Verdict(False, "answered_not_rewritten", 0.0)
    old_words, new_words = words(old), words(new)
    if len(new_words) > 3 * len(old_words) + 60:
        return Verdict(False, "answered_not_rewritten", 0.0)
    if op != "breadth" and old_words and not (content_words(old) & content_words(new)):
        return Verdict(False, "off_topic", 0.0)
    return None


def parse_judgement(text: str) -> bool | None:
    """The reviewer's reply read as text: True = gained ("yes", "not equal"), False = no gain, None = unreadable."""
    t = text.strip().lower()
    if re.match(r"^\W*(yes\b|not\s+equal|different|unequal)", t):
        return True
    if re.match(r"^\W*(no\b|equal|same|identical)", t):
        return False
    return None


def gain_probability(top_logprobs: list[dict] | None) -> float | None:
    """P(yes) / (P(yes) + P(no)) from the first reply token's top log-probabilities (OpenAI layout).

    Small reviewers answer "No" to almost everything as text, yet rank real gains above paraphrases
    by probability; a threshold on this number is a much better judge than the sampled word.
    """
    if not top_logprobs:
        return None
    mass = {"yes": 0.0, "no": 0.0}
    for entry in top_logprobs:
        word = entry["token"].strip().lower()
        if word in mass:
            mass[word] += math.exp(entry["logprob"])
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total > 0 else None


def gain_score(old: str, new: str) -> float:
    """Reward of an accepted evolution: 0.5 for passing review, up to 1.0 with more new content words."""
    added = len(content_words(new) - content_words(old))
    return 0.5 + 0.5 * min(1.0, added / 10)


def judge(old: str, new: str, gained: bool | None) -> Verdict:
    """Rule 1 from the reviewer's decision; an unreadable reply counts as no gain."""
    if not gained:
        return Verdict(False, "no_gain" if gained is False else "unreadable_review", 0.0)
    return Verdict(True, "gained", gain_score(old, new))


ANSWER_TOKENS = 1024  # answer cap assumed when the caller gives none
OVERSIZE_FACTOR = 4  # an answer over this many times its token cap is eliminated
LOOP_GRAM = 4  # word n-grams compared by the repetition rule
LOOP_MIN_WORDS = 40  # shorter answers are never judged repetitive
LOOP_REPEATS = 5  # an n-gram seen this often is filler ...
LOOP_SHARE = 0.5  # ... and filler covering this share of the answer's n-grams eliminates it


def oversize(answer: str, max_tokens: int | None) -> bool:
    """Whether `answer` has more than OVERSIZE_FACTOR x `max_tokens` tokens (cl100k; None = no cap)."""
    if max_tokens is None:
        return False
    limit = OVERSIZE_FACTOR * max_tokens
    if len(answer.encode("utf-8")) <= limit:  # a token is at least one byte: no need to count
        return False
    return count_tokens(answer) > limit


def repetitive(answer: str) -> bool:
    """Whether most of `answer` is the same few words repeated: word 4-grams that occur at least
    LOOP_REPEATS times make up LOOP_SHARE or more of all its 4-grams. A refrain sung four times, a
    list whose items share a pattern, or code with repeated braces all pass."""
    tokens = words(answer)
    if len(tokens) < LOOP_MIN_WORDS:
        return False
    grams = [tuple(tokens[i:i + LOOP_GRAM]) for i in range(len(tokens) - LOOP_GRAM + 1)]
    counts = Counter(grams)
    repeated = sum(1 for g in grams if counts[g] >= LOOP_REPEATS)
    return repeated >= LOOP_SHARE * len(grams)


def check_answer(answer: str, max_tokens: int | None = ANSWER_TOKENS) -> str | None:
    """Rules 2 and 3 on an answer: the reason it fails, or None when it is usable.

    `max_tokens` is the answer's new-token cap (None: no length rule); an answer over
    OVERSIZE_FACTOR times it is "oversize_answer", one made of repeated filler "repetitive_answer".
    """
    if not answer.strip():
        return "empty_answer"
    if oversize(answer, max_tokens):
        return "oversize_answer"
    if REFUSAL.search(answer) and len(words(answer)) < 80:
        return "refusal"
    if all(w in STOP_WORDS for w in words(answer)):
        return "stop_words_only"
    if repetitive(answer):
        return "repetitive_answer"
    return None
