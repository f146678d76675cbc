"""Step-by-step solutions to judge: records and the files they come from.

Two file formats (JSON lines), told apart per row:
- the harness's own: `id`, `question`, `reference` (the final answer), either `solution`
  (text, split into steps) or `steps` (a list), optional `labels` (one per step: correct,
  incorrect or neutral; human or planted labels to check a judge against), optional
  `question_id` (solutions sharing it are the N candidates of best-of-N; default: the
  question text);
- PRM800K's (Lightman et al. 2023): `question.problem`, `question.ground_truth_answer`
  and `label.steps[*]` with rated `completions` (+1 correct, 0 neutral, -1 incorrect), the
  `chosen_completion` (or a `human_completion`) continuing the solution. Labelling stops at
  the first rated step without a continuation (PRM800K's "found an error" end).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.core.errors import InputError
from harness.core.io import iter_jsonl
from judges.process.steps import SplitMode, split_steps
from suites.math_answers import final_answer

StepLabel = Literal["correct", "incorrect", "neutral"]
STEP_LABELS: tuple[StepLabel, ...] = ("correct", "incorrect", "neutral")
_PRM800K_RATING: dict[int, StepLabel] = {1: "correct", 0: "neutral", -1: "incorrect"}


@dataclass(frozen=True)
class Solution:
    """One candidate solution, split into steps."""

    id: str
    question_id: str
    """Solutions sharing it answer the same question (best-of-N groups)."""
    question: str
    reference: str | None
    """The right final answer, when known."""
    steps: tuple[str, ...]
    labels: tuple[StepLabel, ...] | None = None
    """Known step labels (human or planted), for as many leading steps as were labelled."""

    @property
    def text(self) -> str:
        return "\n".join(self.steps)

    @property
    def final(self) -> str | None:
        """The final answer the solution gives."""
        return final_answer(self.steps[-1]) if self.steps else None


def question_key(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:12]


def _own_row(path: Path, line: int, row: dict[str, Any], split: SplitMode) -> Solution:
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(path, "missing or empty", line=line, field="question")
    if isinstance(row.get("steps"), list) and row["steps"]:
        steps = tuple(str(s).strip() for s in row["steps"])
    elif isinstance(row.get("solution"), str) and row["solution"].strip():
        steps = tuple(split_steps(row["solution"], split))
    else:
        raise InputError(path, "give a non-empty 'solution' text or 'steps' list", line=line)
    labels = row.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) > len(steps):
            raise InputError(
                path, f"a list of at most {len(steps)} step labels", line=line, field="labels"
            )
        for label in labels:
            if label not in STEP_LABELS:
                raise InputError(
                    path, f"{label!r} is not one of {', '.join(STEP_LABELS)}", line=line,
                    field="labels",
                )  # fmt: skip
    reference = row.get("reference")
    return Solution(
        id=str(row.get("id", f"line-{line}")),
        question_id=str(row.get("question_id") or question_key(question)),
        question=question,
        reference=None if reference is None else str(reference),
        steps=steps,
        labels=tuple(labels) if labels is not None else None,
    )


def _prm800k_row(path: Path, line: int, row: dict[str, Any]) -> Solution:
    q = row["question"]
    if not isinstance(q, dict) or not isinstance(q.get("problem"), str):
        raise InputError(path, "PRM800K rows need question.problem", line=line, field="question")
    label = row.get("label")
    if not isinstance(label, dict) or not isinstance(label.get("steps"), list):
        raise InputError(path, "PRM800K rows need label.steps", line=line, field="label")
    steps: list[str] = []
    labels: list[StepLabel] = []
    for k, step in enumerate(label["steps"]):
        completions = step.get("completions") or []
        chosen = step.get("chosen_completion")
        human = step.get("human_completion")
        if chosen is not None:
            picked = completions[chosen]
        elif human is not None:
            picked = {"text": human.get("text", ""), "rating": 1}
        elif completions:
            picked = completions[0]  # the rated step the labeller stopped at
        else:
            raise InputError(
                path, "a step without completions", line=line, field=f"label.steps.{k}"
            )
        rating = picked.get("rating")
        steps.append(str(picked.get("text", "")).strip())
        if rating is None or len(labels) < len(steps) - 1:
            continue
        if rating not in _PRM800K_RATING:
            raise InputError(
                path, f"rating {rating!r} is not 1, 0 or -1", line=line, field=f"label.steps.{k}"
            )
        labels.append(_PRM800K_RATING[rating])
        if chosen is None and human is None:
            break
    if not steps:
        raise InputError(path, "no steps", line=line, field="label.steps")
    return Solution(
        id=f"prm800k-{line}",
        question_id=question_key(q["problem"]),
        question=q["problem"],
        reference=q.get("ground_truth_answer"),
        steps=tuple(steps),
        labels=tuple(labels),
    )


def load_solutions(path: Path, split: SplitMode = "auto") -> list[Solution]:
    """Solutions from a JSONL file in either format (see the module docstring)."""
    out = []
    for line, row in iter_jsonl(path):
        if isinstance(row.get("question"), dict):
            out.append(_prm800k_row(path, line, row))
        else:
            out.append(_own_row(path, line, row, split))
    if not out:
        raise InputError(path, "the file has no solutions")
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        dupe = next(i for i in ids if ids.count(i) > 1)
        raise InputError(path, f"duplicate id {dupe!r}", field="id")
    return out
