"""Human-labelled pairs for judge audits: HH-RLHF chosen/rejected, or JSONL with a `human` label."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError
from harness.records import Message
from judges.audit import LabelledPair, from_chosen_rejected
from suites.sources import iter_jsonl


def dialogue_text(messages: tuple[Message, ...] | list[Message]) -> str:
    """A multi-turn prompt as text for a judge (a single turn stays as it is)."""
    if len(messages) == 1:
        return messages[0].content
    names = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(f"{names[m.role]}: {m.content}" for m in messages)


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    prompt: str
    response_a: str
    response_b: str
    human: str = Field(pattern="^(A|B|tie)$")


def load_pairs(source: str, limit: int | None = None, seed: int = 0) -> list[LabelledPair]:
    """`hh-rlhf:PATH` (chosen = human-preferred, shown in a content-seeded random slot) or a
    JSONL file with `id`, `prompt`, `response_a`, `response_b`, `human` (A, B or tie)."""
    if source.startswith("hh-rlhf:"):
        from suites import load_suite

        suite = load_suite(source)
        pairs = [
            from_chosen_rejected(
                s.id, dialogue_text(s.chat()), s.metadata["chosen"], s.metadata["rejected"], seed
            )
            for s in suite.samples
        ]
        return pairs[:limit] if limit else pairs
    path = Path(source)
    pairs = []
    for line, row in iter_jsonl(path):
        if isinstance(row.get("id"), int):
            row = {**row, "id": str(row["id"])}
        try:
            r = _Row.model_validate(row)
        except ValidationError as e:
            first = e.errors()[0]
            raise InputError(
                path, first["msg"], line=line, field=".".join(map(str, first["loc"])) or None
            ) from None
        pairs.append(LabelledPair(r.id, r.prompt, r.response_a, r.response_b, r.human))
    if not pairs:
        raise InputError(path, "no pairs")
    return pairs[:limit] if limit else pairs
