"""A reward for RL with verifiable rewards: how well each completion meets its prompt's constraints.

`constraint_reward(completions, constraints, **kwargs)` has the signature trl's `GRPOTrainer` calls a
reward function with: `completions` are strings or conversations (the last turn is the answer),
`constraints` is the dataset column of the same name, one entry per completion (a prompt's constraints
repeated for each of its generations), as `teamsrl export --format rlvr` writes it: a list of
`{"id", "kwargs"}` with kwargs JSON-encoded (plain dicts are taken too). The reward of a completion is
the fraction of its constraints it meets under the registry's strict check (`verify`): 1.0 exactly
when all pass, and partial credit gives the policy a signal before it meets them all. A prompt
without constraints scores 1.0. Other columns trl passes (`prompts`, `trainer_state`, ...) are ignored.
This module scores; it does not train.
"""

from __future__ import annotations

import json

from .verification import verify


def decode_constraints(constraints) -> list[dict]:
    """Registry constraints (`{"id", "kwargs": dict}`) from an exported column value (kwargs JSON-encoded)."""
    decoded = []
    for c in constraints or []:
        kwargs = c.get("kwargs")
        decoded.append({"id": c["id"], "kwargs": json.loads(kwargs) if isinstance(kwargs, str) else dict(kwargs or {})})
    return decoded


def answer_text(completion) -> str:
    """A completion's text: the string itself, or the content of a conversation's last turn."""
    if isinstance(completion, str):
        return completion
    return str(completion[-1].get("content") or "") if completion else ""


def constraint_reward(completions, constraints, **kwargs) -> list[float]:
    """Per completion, the fraction of its constraints met (strict); 1.0 when it has none."""
    if len(completions) != len(constraints):
        raise ValueError(f"{len(completions)} completions but {len(constraints)} constraint lists")
    rewards = []
    for completion, wanted in zip(completions, constraints):
        results = verify(answer_text(completion), decode_constraints(wanted))["results"]
        rewards.append(sum(r["strict"] for r in results) / len(results) if results else 1.0)
    return rewards
