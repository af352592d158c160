"""Verifiable constraints: requirements on an answer that code can check, how they are worded, and
how they are drawn.

A record carries `constraints: [{"id": ..., "kwargs": {...}}]`; the ids follow IFEval's naming
("length_constraints:number_words", "detectable_format:title", ...). The public functions:

  sample_constraint(existing, seed, index, step, instruction="") -> dict | None
      a new constraint, compatible with `existing` (no duplicate id, no conflict), the same for the
      same (seed, index, step)
  sample_constraints(rng: random.Random, instruction: str, count: int, draw=None, family=None) -> list[dict]
      1..count compatible constraints (how many: uniform in 1..count); each type picked by
      `draw.pick(rng, allowed, preferred)` when given (a `TypeDraw`), else uniformly; a `family`
      (one of FAMILIES, the id prefixes; `family_of(type_id)`) is preferred above the draw's floor
  phrase(constraint, variant=0, split="train") -> str
      phrasing `variant` (wrapping around) of the split's phrasings: "train" (the only ones used to
      build training data) or "heldout" (evaluation only)
  phrasings(type_id, split="train") -> tuple[Phrasing, ...];  phrasing_counts() -> {id: {"train", "heldout"}}
  compose(task: str, constraints: list[dict], rng: random.Random, split="train") -> str
      one instruction: each constraint in a random phrasing of `split`, before the task, after it, or
      woven into it; `stated` holds for every constraint; deterministic for the same rng state
  training_instruction(task, constraints, rng) -> str          compose(..., split="train")
  heldout_instructions(tasks: list[str], n: int, seed: int) -> list[{"prompt", "constraints", "task"}]
      n evaluation items, 1-3 uniformly drawn constraints each, held-out phrasings only
  stated(instruction, constraint) -> bool
      whether an instruction still states it (its numbers, words, relation and kind all appear)
  verify(response, constraints) -> dict
      {"strict": bool, "loose": bool, "results": [{"id", "strict", "loose"}, ...]}
  validate(constraints, path=None, line=None)
      raises teamsrl_graph.common.errors.InputError naming path, line and field
  TypeDraw(explore=0.5, favour="learn")  thread-safe posterior-sampling draw of types with a floor:
      .pick(rng, allowed, preferred=None) -> type_id, .update(type_id, passed), .posterior(type_id) -> (a, b),
      .state() -> dict (JSON), TypeDraw.from_state(state, source="<state>")
  type_mix(constraint_lists: list[list[dict]]) -> {"counts": {id: n}, "entropy_bits": float}

`TYPES` maps each id to its `ConstraintType` (params, sampler, phrasings, heldout, check, cues,
conflicts). Text splitting lives in `text`; the external IFBench yardstick in `yardstick` (not
imported here, it needs the optional benchmark package).
"""

from .base import ConstraintType, Param, Phrasing
from .compose import compose
from .drawing import TypeDraw, type_mix
from .heldout import heldout_instructions, training_instruction
from .registry import CONFLICTS, FAMILIES, TYPES, compatible, family_of, sample_constraint, sample_constraints, stated
from .text import sentences, words
from .validation import validate
from .verification import verify
from .wording import SPLITS, phrase, phrasing_counts, phrasings

__all__ = [
    "CONFLICTS", "FAMILIES", "SPLITS", "TYPES", "ConstraintType", "Param", "Phrasing", "TypeDraw", "compatible", "compose", "family_of",
    "heldout_instructions", "phrase", "phrasing_counts", "phrasings", "sample_constraint", "sample_constraints",
    "sentences", "stated", "training_instruction", "type_mix", "validate", "verify", "words",
]
