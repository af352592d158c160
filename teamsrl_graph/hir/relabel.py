"""Hindsight relabeling: turn verified outputs into (instruction, output) training pairs.

Every output is a positive example of *some* instruction. A correct output is a positive of the
instruction it was sampled for; a wrong one is a positive of the hindsight instruction "the same,
but give a wrong answer" and a negative of the original. Each pair also names the instruction it
does *not* satisfy, which the contrastive term of the loss needs. Optional sub-span relabeling
makes the correct start of a wrong output (e.g. the first two words of a half-sorted list) a
partial positive of the original instruction. `relabel_record` does the same for records of the
evolution graph, with the reviewer's verdict in place of a verifier. Nothing here touches a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.errors import InputError
from ..dataio.records import prompt_of

WRONG_INSTRUCTION = "{instruction}\n\nGive a wrong answer."  # the hindsight instruction of a wrong output


@dataclass(frozen=True)
class Pair:
    instruction: str  # the instruction the output is a positive example of
    output: str  # the model's output (or its correct start, for a sub-span)
    negative: str | None  # an instruction the output does not satisfy; None: no contrastive term
    complete: bool = True  # False for a sub-span: the output is only a start, so no end-of-sequence
    hindsight: bool = False  # True when `instruction` is the relabeled "wrong answer" instruction

    def negative_pair(self) -> Pair:
        """The same output under the instruction it does not satisfy (for scoring, not for training)."""
        return Pair(self.negative, self.output, None, self.complete)


def wrong(instruction: str, template: str = WRONG_INSTRUCTION) -> str:
    return template.format(instruction=instruction)


def relabel(instruction: str, outputs: list[str], verdicts: list[bool], *, prefixes: list[str] | None = None,
            keep_wrong: bool = True, template: str = WRONG_INSTRUCTION) -> list[Pair]:
    """Pairs for the outputs sampled for one instruction.

    `verdicts[i]` says whether `outputs[i]` is correct; `prefixes[i]` (sub-span relabeling) is the
    correct start of a wrong output, "" when it has none. With keep_wrong=False wrong outputs are
    dropped, which is plain rejection-sampling fine-tuning.
    """
    relabeled = wrong(instruction, template)
    pairs = []
    for i, (output, ok) in enumerate(zip(outputs, verdicts, strict=True)):
        if ok:
            pairs.append(Pair(instruction, output, relabeled))
            continue
        if keep_wrong:
            pairs.append(Pair(relabeled, output, instruction, hindsight=True))
        prefix = prefixes[i].strip() if prefixes else ""
        if prefix and prefix != output.strip():
            pairs.append(Pair(instruction, prefix, None, complete=False))
    return pairs


def relabel_records(records: list[dict], source="<records>", template: str = WRONG_INSTRUCTION) -> list[Pair]:
    """Pairs for every record with a response; a record without `instruction` or `response` is an error."""
    pairs = []
    for number, record in enumerate(records, 1):
        for name in ("instruction", "response"):
            if not isinstance(record.get(name), str):
                raise InputError("missing or not a string", path=source, line=number, field=name)
        pairs += relabel_record(record, template=template)
    if not pairs:
        raise InputError(f"none of the {len(records)} records has a response", path=source, field="response")
    return pairs


def relabel_record(record: dict, *, template: str = WRONG_INSTRUCTION) -> list[Pair]:
    """Pairs for one record of the evolution graph's dataset.jsonl, the reviewer's verdict as verifier.

    An accepted response (`response_ok`) is a positive of its prompt; a rejected one a positive of
    the hindsight "wrong answer" prompt. As the instruction a response does not satisfy, an accepted
    response gets a candidate the reviewer rejected on the record's path (a different instruction
    the response was not written for), else the hindsight prompt.
    """
    response = (record.get("response") or "").strip()
    if not response:
        return []
    prompt = prompt_of(record)
    if not record.get("response_ok"):
        return [Pair(wrong(prompt, template), response, prompt, hindsight=True)]
    rejected = [step["candidate"] for step in record.get("path") or []
                if not step.get("accepted") and (step.get("candidate") or "").strip()
                and step["candidate"].strip() != record["instruction"].strip()]
    negative = prompt_of({**record, "instruction": rejected[-1]}) if rejected else wrong(prompt, template)
    return [Pair(prompt, response, negative)]
