"""Verifiable constraints: requirements on an answer that code can check.

A record carries `constraints: [{"id": ..., "kwargs": {...}}]`; the ids follow IFEval's naming
("length_constraints:number_words", "detectable_format:title", ...). The public functions:

  sample_constraint(existing, seed, index, step, instruction="") -> dict | None
      a new constraint, compatible with `existing` (no duplicate id, no conflict), the same for the
      same (seed, index, step)
  phrase(constraint, variant=0) -> str
      the registry's sentence for it ("Make your reply at least 150 words long.")
  stated(instruction, constraint) -> bool
      whether an instruction still states it (its numbers, words and kind all appear)
  verify(response, constraints) -> dict
      {"strict": bool, "loose": bool, "results": [{"id", "strict", "loose"}, ...]}
  validate(constraints, path=None, line=None)
      raises teamsrl_graph.common.errors.InputError naming path, line and field

`TYPES` maps each id to its `ConstraintType` (params, sampler, phrasings, check, conflicts).
Text splitting lives in `text`; the external IFBench yardstick in `yardstick` (not imported here,
it needs the optional benchmark package).
"""

from .base import ConstraintType, Param
from .registry import CONFLICTS, TYPES, compatible, phrase, sample_constraint, stated, verify
from .text import sentences, words
from .validation import validate

__all__ = [
    "CONFLICTS", "TYPES", "ConstraintType", "Param", "compatible", "phrase", "sample_constraint", "sentences",
    "stated", "validate", "verify", "words",
]
