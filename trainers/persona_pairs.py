"""Per-persona preference pairs, for training one adapter per user (`harness train dpo --lora
--personas FILE --judgments SOURCE`).

SOURCE is either
- a `harness compare --personas` output directory: each row of its personas.jsonl (one
  persona's verdict on one pair) joined with the pair's prompt and answers in
  judgments.jsonl; ties and pairs without a verdict are left out (and counted);
- or a JSONL file with one preference per row: `persona`, `prompt` (a user turn or chat
  turns), `chosen`, `rejected`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import InputError, UserError
from harness.core.records import Message
from harness.core.validation import validated_rows
from trainers.data import PreferencePair


class _PersonaVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")
    persona: str = Field(min_length=1)
    model_a: str
    model_b: str
    suite: str
    id: str
    verdict: Literal["A", "B", "tie"] | None = None


class _Judged(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model_a: str
    model_b: str
    suite: str
    id: str
    prompt: str = Field(min_length=1)
    response_a: str
    response_b: str


class _PersonaPair(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = "-"
    persona: str = Field(min_length=1)
    prompt: str | list[Message] = Field(min_length=1)
    chosen: str
    rejected: str


@dataclass
class PersonaPairs:
    """Each persona's pairs, and how many of its verdicts were not a preference."""

    pairs: dict[str, list[PreferencePair]] = field(default_factory=dict)
    undecided: dict[str, int] = field(default_factory=dict)
    """Ties and pairs without a verdict, per persona (compare judgments only)."""


def load_persona_pairs(source: str) -> PersonaPairs:
    """Per-persona pairs from a compare directory or a per-persona preference file."""
    path = Path(source)
    if path.is_dir():
        return _from_compare(path)
    if not path.is_file():
        raise UserError(
            f"--judgments {source}: no such file or directory (give a `harness compare "
            "--personas` output directory or a JSONL file of persona, prompt, chosen, rejected)"
        )
    found = PersonaPairs()
    for _, row in validated_rows(path, _PersonaPair, unique_ids=False):
        turns = (
            [{"role": "user", "content": row.prompt}]
            if isinstance(row.prompt, str)
            else [m.model_dump() for m in row.prompt]
        )
        found.pairs.setdefault(row.persona, []).append(
            PreferencePair(turns, row.chosen, row.rejected)
        )
    return found


def _from_compare(directory: Path) -> PersonaPairs:
    verdicts, judged = directory / "personas.jsonl", directory / "judgments.jsonl"
    for f in (verdicts, judged):
        if not f.is_file():
            raise UserError(
                f"--judgments {directory}: no {f.name} (run `harness compare --personas ...` "
                "with this --out first)"
            )
    pairs: dict[tuple[str, str, str, str], Any] = {
        (r.model_a, r.model_b, r.suite, r.id): r
        for _, r in validated_rows(judged, _Judged, unique_ids=False)
    }
    found = PersonaPairs()
    for line, v in validated_rows(verdicts, _PersonaVerdict, unique_ids=False):
        pair = pairs.get((v.model_a, v.model_b, v.suite, v.id))
        if pair is None:
            raise InputError(
                verdicts, f"no pair {v.model_a}|{v.model_b}|{v.suite}/{v.id} in judgments.jsonl",
                line=line, field="id",
            )  # fmt: skip
        if v.verdict not in ("A", "B"):
            found.undecided[v.persona] = found.undecided.get(v.persona, 0) + 1
            continue
        good, bad = (
            (pair.response_a, pair.response_b)
            if v.verdict == "A"
            else (pair.response_b, pair.response_a)
        )
        found.pairs.setdefault(v.persona, []).append(
            PreferencePair([{"role": "user", "content": pair.prompt}], good, bad)
        )
    return found
