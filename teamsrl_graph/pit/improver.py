"""The PIT improver's data and reward: what it sees, what it is trained to write, how RL scores it.

The improver is a causal LM with a LoRA adapter. Its prompt is the `improve` template (a plain file
users edit) filled with the instruction x and a reference response y_ref; its completion is a new
response y. This module builds
- stage 0 rows (SFT): prompt (x, rejected) -> completion chosen, in TRL's prompt-completion form;
- RL rows (stages 1 and 2): the prompt plus the instruction and reference the reward needs;
- the reward function trl's GRPO calls: the gap model's r(x, y_ref, y) of each sampled completion.
It does not train anything itself; `trainer.py` does.
"""

from __future__ import annotations

from ..common import prompts
from ..models.chat import as_dicts
from ..evolve.review import check_answer
from ..evolve.steps import improve_values
from .preferences import Preference

FAILED_REWARD = -1.0  # ceiling of the reward of an empty or refused improvement (elimination rules 2-3)


def improver_messages(template: prompts.Template, instruction: str, reference: str) -> list[dict]:
    """The improver's prompt for (x, y_ref) as chat dicts."""
    return as_dicts(template.render(improve_values(instruction, reference), prefill=False))


def sft_rows(prefs: list[Preference], template: prompts.Template) -> list[dict]:
    """Stage 0: learn to turn each rejected response into the chosen one, `{"id", "messages"}` each."""
    return [{"id": p.id, "messages": improver_messages(template, p.prompt, p.rejected)
             + [{"role": "assistant", "content": p.chosen}]} for p in prefs]


def rl_rows(prefs: list[Preference], template: prompts.Template, references: list[str] | None = None) -> list[dict]:
    """RL prompts: improve `references` (default: the data's rejected responses), keeping what the reward needs."""
    references = references if references is not None else [p.rejected for p in prefs]
    return [{"prompt": improver_messages(template, p.prompt, ref), "instruction": p.prompt, "reference": ref}
            for p, ref in zip(prefs, references)]


def completion_text(completion) -> str:
    """The text of one trl completion (a string, or a conversational list of messages)."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")


def gap_reward(gap):
    """A trl reward function: gap(x, y_ref, y) of every completion; failed answers score at most -1."""

    def gap_over_reference(prompts, completions, instruction, reference, **_) -> list[float]:
        texts = [completion_text(c).strip() for c in completions]
        scores = gap.score(list(instruction), list(reference), texts)
        return [min(s, FAILED_REWARD) if check_answer(t) else float(s) for s, t in zip(scores, texts)]

    return gap_over_reference
