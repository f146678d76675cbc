"""Best-of-N reranking: per question, pick the candidate with the highest PRM score (min or
product of step scores) or ORM score, or the majority answer, and score the pick against the
reference, so the selectors are compared on the same samples (PRM - ORM as a paired
bootstrap difference)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.core.errors import UserError
from harness.stats.winrate import paired_difference
from judges.process.metrics import share
from judges.process.solutions import Solution
from judges.process.step_judge import NEUTRAL_SCORE, StepVerdicts
from suites.math_answers import answers_match, normalised_answer


def prm_score(verdicts: StepVerdicts, how: str, neutral: float = NEUTRAL_SCORE) -> float | None:
    """A solution's process score: the min or the product of its step scores."""
    if not verdicts.complete or not verdicts.labels:
        return None
    scores = verdicts.scores(neutral)
    return float(min(scores)) if how == "min" else float(np.prod(scores))


def _pick(cands: list[Solution], score: Callable[[Solution], float | None]) -> Solution:
    """The highest-scored candidate (ties to the first; unscored candidates last)."""
    scored = [(score(c), -k, c) for k, c in enumerate(cands)]
    return max(scored, key=lambda t: (t[0] is not None, t[0] or 0.0, t[1]))[2]


def _majority(cands: list[Solution]) -> Solution:
    """The first candidate with the most common final answer."""
    answers = [normalised_answer(c.final) for c in cands if c.final is not None]
    if not answers:
        return cands[0]
    top = Counter(answers).most_common(1)[0][0]
    return next(c for c in cands if c.final is not None and normalised_answer(c.final) == top)


def best_of_n(
    solutions: Sequence[Solution],
    verdicts: Sequence[StepVerdicts],
    outcome_scores: Sequence[float | None] | None,
    *,
    n_boot: int = 10_000,
) -> dict[str, Any]:
    """Per question, the candidate each selector picks (highest score, ties to the first
    candidate; unscored candidates last) and the accuracy of the picks against the reference.
    Selectors: prm_min, prm_product, orm (outcome judge), majority (most common final
    answer), first (no reranking) and oracle (any candidate right)."""
    by_id = {v.solution_id: v for v in verdicts}
    outcome = dict(zip([s.id for s in solutions], outcome_scores or [], strict=False))
    groups: dict[str, list[Solution]] = {}
    for s in solutions:
        if s.reference is not None:
            groups.setdefault(s.question_id, []).append(s)
    if not groups:
        raise UserError("best-of-N needs solutions with a reference answer")

    def by_prm(how: str) -> Callable[[list[Solution]], Solution]:
        return lambda cs: _pick(
            cs, lambda c: prm_score(by_id[c.id], how) if c.id in by_id else None
        )

    selectors: dict[str, Callable[[list[Solution]], Solution]] = {
        "prm_min": by_prm("min"),
        "prm_product": by_prm("product"),
        "majority": _majority,
        "first": lambda cs: cs[0],
    }
    if outcome_scores is not None:
        selectors["orm"] = lambda cs: _pick(cs, lambda c: outcome.get(c.id))
    correct: dict[str, np.ndarray] = {}
    for name, select in selectors.items():
        correct[name] = np.array(
            [answers_match(select(cs).final, cs[0].reference or "") for cs in groups.values()],
            dtype=float,
        )
    correct["oracle"] = np.array(
        [any(answers_match(c.final, c.reference or "") for c in cs) for cs in groups.values()],
        dtype=float,
    )
    sizes = [len(cs) for cs in groups.values()]
    out: dict[str, Any] = {
        "questions": len(groups),
        "candidates_per_question": {"min": min(sizes), "max": max(sizes)},
        "accuracy": {k: share(int(v.sum()), len(v)) for k, v in correct.items()},
    }
    if "orm" in correct and len(groups) >= 2:
        out["prm_min_minus_orm"] = paired_difference(
            correct["orm"], correct["prm_min"], n_boot=n_boot, unit="questions"
        )
    return out
