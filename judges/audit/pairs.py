"""Human-labelled pairs for judge audits: HH-RLHF chosen/rejected, or JSONL with a `human` label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import InputError
from harness.core.io import iter_json_records
from harness.core.records import Message
from harness.core.validation import validate
from judges.audit.measures import LabelledPair, from_chosen_rejected


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


def _alpaca_eval_human(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> list[LabelledPair]:
    """AlpacaEval-style human annotations (`instruction`, `output_1`, `output_2`,
    `preference` 1 or 2, 1.5 or 0 a tie), several annotators per pair -> the majority label."""
    votes: dict[tuple[str, str, str], list[str]] = {}
    for line, row in rows:
        for col in ("instruction", "output_1", "output_2"):
            if not isinstance(row.get(col), str):
                raise InputError(path, "missing or not a string", line=line, field=col)
        pref = row.get("preference")
        if pref not in (0, 1, 1.5, 2, 0.0, 1.0, 2.0):
            raise InputError(
                path, f"expected 1, 2 or 1.5 (tie), got {pref!r}", line=line, field="preference"
            )
        label = "A" if pref == 1 else "B" if pref == 2 else "tie"
        votes.setdefault((row["instruction"], row["output_1"], row["output_2"]), []).append(label)
    pairs = []
    for k, ((instruction, out1, out2), labels) in enumerate(votes.items()):
        top = max(set(labels), key=labels.count)
        majority = top if labels.count(top) * 2 > len(labels) else "tie"
        pairs.append(LabelledPair(str(k + 1), instruction, out1, out2, majority))
    return pairs


def load_pairs(source: str, limit: int | None = None, seed: int = 0) -> list[LabelledPair]:
    """Human-labelled pairs from one of:

    - `hh-rlhf:PATH`: chosen = human-preferred, shown in a content-seeded random slot;
    - AlpacaEval-style human annotations (JSON list or JSONL with `instruction`, `output_1`,
      `output_2`, `preference`), several annotators per pair reduced to the majority;
    - JSONL with `id`, `prompt`, `response_a`, `response_b`, `human` (A, B or tie).
    """
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
    rows = list(iter_json_records(path))
    if rows and "output_1" in rows[0][1]:
        found = _alpaca_eval_human(path, rows)
        return found[:limit] if limit else found
    pairs = []
    for line, row in rows:
        if isinstance(row.get("id"), int):
            row = {**row, "id": str(row["id"])}
        r = validate(path, _Row, row, line=line)
        pairs.append(LabelledPair(r.id, r.prompt, r.response_a, r.response_b, r.human))
    if not pairs:
        raise InputError(path, "no pairs")
    return pairs[:limit] if limit else pairs
