"""Process vs outcome supervision (Lightman et al. 2023, "Let's Verify Step by Step").

- PRM judge: every step of a solution labelled correct / incorrect / neutral (PRM800K's
  labels) by a judge that sees the problem and the earlier steps (`prm-step-v1`); the
  first wrong step is the first step labelled incorrect.
- ORM: the final answer checked against the reference (for metrics), and an outcome judge
  that grades the final answer without the reference (`orm-outcome-v1`, for reranking).
- Metrics: final-answer accuracy, step-error rate, the share of solutions with a wrong
  step, and "right answer through a wrong step": solutions an outcome check rewards whose
  reasoning a process judge rejects (the credit-assignment gap).
- Best-of-N: per question pick the candidate with the highest PRM score (min or product
  of step scores) or ORM score, or the majority answer, and score the pick against the
  reference, so the selectors are compared on the same samples.

Step scores: correct 1, incorrect 0, neutral `NEUTRAL_SCORE` (0.5: a neutral step is not
evidence either way; PRM800K's paper scored neutral as positive, which is 1 here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import UserError
from harness.stats import wilson_share
from judges.classify import judge_classify
from judges.judge import Judge
from judges.parsing import parse_label
from judges.pointwise import PointItem
from judges.solutions import Solution
from reports.winrate import paired_difference
from suites.math import answers_match, normalised_answer

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


def _rate(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return wilson_share(k, n)


def _clustered_ratio(
    num: np.ndarray, den: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """sum(num) / sum(den) with a bootstrap CI resampling solutions (steps of one solution
    are not independent)."""
    n = len(num)
    if n == 0 or den.sum() == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": int(den.sum())}
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boots = num[idx].sum(axis=1) / np.maximum(den[idx].sum(axis=1), 1)
    return {
        "value": float(num.sum() / den.sum()),
        "ci_low": float(np.quantile(boots, 0.025)),
        "ci_high": float(np.quantile(boots, 0.975)),
        "n": int(den.sum()),
        "solutions": n,
    }


def process_metrics(
    solutions: Sequence[Solution], verdicts: Sequence[StepVerdicts]
) -> dict[str, Any]:
    """Accuracy, step errors and the right-answer-wrong-step rate, each with CI and n.
    Step-level measures count the solutions whose every step the judge labelled; the share
    of steps it labelled at all is `step_labels_parsed`."""
    by_id = {v.solution_id: v for v in verdicts}
    graded = [s for s in solutions if s.reference is not None]
    right = [s for s in graded if answers_match(s.final, s.reference or "")]
    judged = [(s, by_id[s.id]) for s in solutions if s.id in by_id and by_id[s.id].complete]
    wrong_step = {s.id for s, v in judged if v.first_wrong is not None}
    judged_ids = {s.id for s, _ in judged}
    right_judged = [s for s in right if s.id in judged_ids]
    errors = np.array([sum(lab == "incorrect" for lab in v.labels) for _, v in judged], float)
    counts = np.array([len(v.labels) for _, v in judged], float)
    labelled = sum(lab is not None for v in verdicts for lab in v.labels)
    return {
        "step_labels_parsed": _rate(labelled, sum(len(v.labels) for v in verdicts)),
        "final_answer_accuracy": _rate(len(right), len(graded)),
        "step_error_rate": _clustered_ratio(errors, counts),
        "solutions_with_wrong_step": _rate(len(wrong_step), len(judged)),
        "right_answer_wrong_step": _rate(
            sum(s.id in wrong_step for s in right_judged), len(right_judged)
        ),
        "n_solutions": len(solutions),
        "n_steps": int(sum(len(s.steps) for s in solutions)),
    }


def agreement_with_labels(
    solutions: Sequence[Solution], verdicts: Sequence[StepVerdicts]
) -> dict[str, Any] | None:
    """How the process judge agrees with known step labels (human or planted): per-step
    label accuracy, and whether it finds the same first wrong step (None if no labels)."""
    by_id = {v.solution_id: v for v in verdicts}
    same_label = total = same_first = n_first = 0
    for s in solutions:
        if s.labels is None or s.id not in by_id:
            continue
        judged = by_id[s.id].labels
        pairs = [(h, j) for h, j in zip(s.labels, judged, strict=False) if j is not None]
        same_label += sum(h == j for h, j in pairs)
        total += len(pairs)
        if by_id[s.id].complete:
            n_first += 1
            same_first += first_wrong(s.labels) == by_id[s.id].first_wrong
    if total == 0:
        return None
    return {
        "step_label_agreement": _rate(same_label, total),
        "first_wrong_step_agreement": _rate(same_first, n_first),
    }


def prm_score(verdicts: StepVerdicts, how: str, neutral: float = NEUTRAL_SCORE) -> float | None:
    """A solution's process score: the min or the product of its step scores."""
    if not verdicts.complete or not verdicts.labels:
        return None
    scores = verdicts.scores(neutral)
    return float(min(scores)) if how == "min" else float(np.prod(scores))


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

    def pick(cands: list[Solution], score: Callable[[Solution], float | None]) -> Solution:
        scored = [(score(c), -k, c) for k, c in enumerate(cands)]
        return max(scored, key=lambda t: (t[0] is not None, t[0] or 0.0, t[1]))[2]

    def majority(cands: list[Solution]) -> Solution:
        answers = [normalised_answer(c.final) for c in cands if c.final is not None]
        if not answers:
            return cands[0]
        top = Counter(answers).most_common(1)[0][0]
        return next(c for c in cands if c.final is not None and normalised_answer(c.final) == top)

    def by_prm(how: str) -> Callable[[list[Solution]], Solution]:
        return lambda cs: pick(cs, lambda c: prm_score(by_id[c.id], how) if c.id in by_id else None)

    selectors: dict[str, Callable[[list[Solution]], Solution]] = {
        "prm_min": by_prm("min"),
        "prm_product": by_prm("product"),
        "majority": majority,
        "first": lambda cs: cs[0],
    }
    if outcome_scores is not None:
        selectors["orm"] = lambda cs: pick(cs, lambda c: outcome.get(c.id))
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
        "accuracy": {k: _rate(int(v.sum()), len(v)) for k, v in correct.items()},
    }
    if "orm" in correct and len(groups) >= 2:
        out["prm_min_minus_orm"] = paired_difference(
            correct["orm"], correct["prm_min"], n_boot=n_boot
        )
    return out
