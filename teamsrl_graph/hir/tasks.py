"""Procedurally generated tasks with exact verifiers, for training and measuring HIR.

Three families, each with a difficulty knob and deterministic under a seed:
`word_sorting` (sort d words alphabetically), `object_counting` (count the items of one category in
a list of d phrases, BigBench style) and `arithmetic` (add d + 1 one-digit numbers). A verifier
accepts an output when it gives the right answer, whatever its case, spacing or punctuation: the
sorted words and nothing else, or a last number that is the right count or sum. Tasks make and
check instances and turn verified samples into pairs (`relabel.py`); sampling and training live in
`trainer.py`. Constrained instructions, the other kind of task, live in `constrained.py`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..common.errors import InputError
from .relabel import WRONG_INSTRUCTION, Pair, relabel

WORDS = (
    "apple anchor basket bridge candle castle desert dragon eagle engine falcon forest garden glacier "
    "harbor helmet island jacket kettle kingdom ladder lemon magnet meadow needle nickel ocean orchid "
    "palace pepper quartz quiver rabbit river saddle silver tiger tunnel umbrella valley velvet walnut "
    "window yacht yellow zebra zipper"
).split()
CATEGORIES = {
    "fruits": "apple banana cherry grape lemon mango orange peach pear plum".split(),
    "animals": "cat cow dog donkey goat horse mouse pig rabbit sheep".split(),
    "vegetables": "cabbage carrot celery garlic lettuce onion potato radish turnip yam".split(),
    "musical instruments": "drum flute guitar harp piano trombone trumpet violin clarinet banjo".split(),
}
NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen twenty").split()
_NUMBER = re.compile(r"-?\d[\d,]*|\b(?:" + "|".join(NUMBER_WORDS) + r")\b")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Instance:
    prompt: str  # the instruction shown to the model
    answer: str  # the reference answer (what a correct output says)


def numbers_in(text: str) -> list[int]:
    """Every number an output mentions, written in digits ("1,000") or as a word up to twenty."""
    found = []
    for match in _NUMBER.findall(text.lower()):
        found.append(NUMBER_WORDS.index(match) if match in NUMBER_WORDS else int(match.replace(",", "")))
    return found


def last_number_is(output: str, answer: str) -> bool:
    """True when the last number in `output` is `answer` ("3 + 4 = 7" and "Seven." both answer 7)."""
    found = numbers_in(output)
    return bool(found) and found[-1] == int(answer)


class Task:
    """Base class: subclasses define `name`, `make(rng)` and `verify(instance, output)`."""

    name = ""
    max_new_tokens = 12  # enough for a number plus a few words around it

    def __init__(self, difficulty: int):
        if difficulty < 1:
            raise InputError(f"difficulty must be at least 1, got {difficulty}", field="difficulty")
        self.difficulty = difficulty

    def make(self, rng: random.Random) -> Instance:
        raise NotImplementedError

    def verify(self, instance: Instance, output: str) -> bool:
        raise NotImplementedError

    def correct_prefix(self, instance: Instance, output: str) -> str:
        """The longest start of `output` that is still on the way to a correct answer ("" if none)."""
        return ""

    def pairs(self, instance: Instance, outputs: list[str], keep_wrong: bool = True, subspan: bool = False,
              template: str = WRONG_INSTRUCTION) -> list[Pair]:
        """The training pairs of the outputs sampled for `instance` (`relabel.relabel` on the verdicts)."""
        verdicts = [self.verify(instance, o) for o in outputs]
        prefixes = [self.correct_prefix(instance, o) for o in outputs] if subspan else None
        return relabel(instance.prompt, outputs, verdicts, prefixes=prefixes, keep_wrong=keep_wrong, template=template)

    def instances(self, n: int, seed: int, exclude: set[str] = frozenset()) -> list[Instance]:
        """`n` distinct instances whose prompts are not in `exclude` (held-out sets pass the train prompts)."""
        rng, seen, out = random.Random(f"{self.name}-{self.difficulty}-{seed}"), set(exclude), []
        for _ in range(200 * n):
            instance = self.make(rng)
            if instance.prompt not in seen:
                seen.add(instance.prompt)
                out.append(instance)
                if len(out) == n:
                    return out
        raise InputError(f"{self.name} at difficulty {self.difficulty} has fewer than {n} distinct instances",
                         field="difficulty")


class WordSorting(Task):
    name = "word_sorting"

    @property
    def max_new_tokens(self):
        return 4 * self.difficulty + 8

    def make(self, rng):
        words = rng.sample(WORDS, self.difficulty)
        return Instance(f"Sort the following words alphabetically. List: {' '.join(words)}\n"
                        "Answer with the sorted words only, separated by spaces.", " ".join(sorted(words)))

    def verify(self, instance, output):
        return _WORD.findall(output.lower()) == instance.answer.split()

    def correct_prefix(self, instance, output):
        target, end = instance.answer.split(), 0
        for i, match in enumerate(_WORD.finditer(output.lower())):
            if i >= len(target) or match.group() != target[i]:
                break
            end = match.end()
        return output[:end]


class ObjectCounting(Task):
    name = "object_counting"

    def make(self, rng):
        category, other = rng.sample(sorted(CATEGORIES), 2)
        count, phrases = 0, []
        for _ in range(self.difficulty):
            pick = category if rng.random() < 0.6 else other
            item = rng.choice(CATEGORIES[pick])
            quantity = 1 if self.difficulty < 4 or rng.random() < 0.7 else rng.randint(2, 3)
            count += quantity if pick == category else 0
            phrases.append((("an " if item[0] in "aeiou" else "a ") + item) if quantity == 1
                           else f"{NUMBER_WORDS[quantity]} {item}s")
        listing = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return Instance(f"I have {listing}. How many {category} do I have?\nAnswer with a single number.",
                        str(count))

    def verify(self, instance, output):
        return last_number_is(output, instance.answer)


class Arithmetic(Task):
    name = "arithmetic"

    def make(self, rng):
        terms = [rng.randint(1, 9) for _ in range(self.difficulty + 1)]
        return Instance(f"What is {' + '.join(map(str, terms))}?\nAnswer with a single number.", str(sum(terms)))

    def verify(self, instance, output):
        return last_number_is(output, instance.answer)


TASKS = {task.name: task for task in (WordSorting, ObjectCounting, Arithmetic)}


def make_task(name: str, difficulty: int) -> Task:
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}", field="task")
    return TASKS[name](difficulty)
