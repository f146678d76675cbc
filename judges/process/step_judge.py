"""The PRM step judge (Lightman et al. 2023, "Let's Verify Step by Step"): every step of a
solution labelled correct / incorrect / neutral (PRM800K's labels) by a judge that sees the
problem and the earlier steps (`prm-step-v1`); the first wrong step is the first step
labelled incorrect. Also the outcome judge (ORM) that grades the final answer without the
reference (`orm-outcome-v1`, for reranking).

Step scores: correct 1, incorrect 0, neutral `NEUTRAL_SCORE` (0.5: a neutral step is not
evidence either way; PRM800K's paper scored neutral as positive, which is 1 here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.core.errors import UserError
from judges.llm.classify import judge_classify
from judges.llm.judge import Judge
from judges.llm.parsing import parse_label
from judges.llm.pointwise import PointItem
from judges.process.solutions import Solution

NEUTRAL_SCORE = 0.5
STEP_SCORE = {"correct": 1.0, "incorrect": 0.0}


def first_wrong(labels: Sequence[str | None]) -> int | None:
    """1-based index of the first step labelled incorrect, if any."""
    return next((k + 1 for k, v in enumerate(labels) if v == "incorrect"), None)


@dataclass(frozen=True)
class StepVerdicts:
    """A process judge's labels for one solution's steps (None where the judge failed)."""

    solution_id: str
    labels: tuple[str | None, ...]
    raw: tuple[str | None, ...]

    @property
    def first_wrong(self) -> int | None:
        """1-based index of the first step labelled incorrect."""
        return first_wrong(self.labels)

    @property
    def complete(self) -> bool:
        return all(v is not None for v in self.labels)

    def scores(self, neutral: float = NEUTRAL_SCORE) -> list[float]:
        return [STEP_SCORE.get(v, neutral) for v in self.labels if v is not None]


def _labels_of(judge: Judge, wanted: Sequence[str]) -> None:
    labels = judge.template.config.labels
    if judge.template.config.kind != "classify" or set(labels) != set(wanted):
        raise UserError(
            f"judge template '{judge.template.name}' must be a classify template with labels "
            f"{', '.join(wanted)}"
        )


def judge_steps(
    judge: Judge, solutions: Sequence[Solution], on_done: Callable[[int], None] | None = None
) -> list[StepVerdicts]:
    """Every step of every solution labelled by the process judge (one request per step)."""
    _labels_of(judge, ("correct", "incorrect", "neutral"))
    requests, owners = [], []
    for i, sol in enumerate(solutions):
        for k, step in enumerate(sol.steps):
            earlier = "\n".join(f"Step {j + 1}: {s}" for j, s in enumerate(sol.steps[:k]))
            requests.append(
                judge.request(
                    prompt=sol.question, steps=earlier or "(none)", step=f"Step {k + 1}: {step}"
                )
            )
            owners.append(i)
    replies = judge.ask(requests, on_done)
    labels: list[list[str | None]] = [[] for _ in solutions]
    raws: list[list[str | None]] = [[] for _ in solutions]
    for i, reply in zip(owners, replies, strict=True):
        ok = reply.error is None and reply.text is not None
        labels[i].append(
            parse_label(reply.text or "", judge.template.config.labels) if ok else None
        )
        raws[i].append(reply.text)
    return [
        StepVerdicts(s.id, tuple(lab), tuple(raw))
        for s, lab, raw in zip(solutions, labels, raws, strict=True)
    ]


def judge_outcomes(
    judge: Judge, solutions: Sequence[Solution], on_done: Callable[[int], None] | None = None
) -> list[float | None]:
    """The outcome judge's score per solution: 1 if it calls the final answer correct, 0 if
    incorrect, None when it failed or gave no label."""
    _labels_of(judge, ("correct", "incorrect"))
    items = [PointItem(s.id, s.question, s.text) for s in solutions]
    return [
        None if r.label is None else float(r.label == "correct")
        for r in judge_classify(judge, items, on_done)
    ]
