"""Process-supervision metrics, each with a CI and n: final-answer accuracy, step-error rate
(bootstrap over solutions), the share of solutions with a wrong step, "right answer through
a wrong step" (what an outcome check rewards and a process judge rejects), and the judge's
agreement with human step labels (PRM800K)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.stats.intervals import percentile_or_wilson, wilson_share
from judges.process.solutions import Solution
from judges.process.step_judge import StepVerdicts, first_wrong
from suites.math_answers import answers_match


def share(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return wilson_share(k, n)


def _clustered_ratio(
    num: np.ndarray, den: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """sum(num) / sum(den) with a bootstrap CI resampling solutions (steps of one solution
    are not independent).

    Where no solution has an error, or every step of every solution is one, every resample
    gives the same ratio and the bootstrap interval would be zero-width. The interval is
    then Wilson's with the solutions as the count: clustering shrinks the effective number
    of steps by the design effect 1 + (m - 1) rho <= m (m steps per solution), so it is
    never below the number of solutions, and this interval is conservative."""
    n = len(num)
    if n == 0 or den.sum() == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": int(den.sum())}
    value = float(num.sum() / den.sum())
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boots = num[idx].sum(axis=1) / np.maximum(den[idx].sum(axis=1), 1)
    low, high = percentile_or_wilson(boots, value, n)
    return {"value": value, "ci_low": low, "ci_high": high, "n": int(den.sum()), "solutions": n}


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
        "step_labels_parsed": share(labelled, sum(len(v.labels) for v in verdicts)),
        "final_answer_accuracy": share(len(right), len(graded)),
        "step_error_rate": _clustered_ratio(errors, counts),
        "solutions_with_wrong_step": share(len(wrong_step), len(judged)),
        "right_answer_wrong_step": share(
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
        "step_label_agreement": share(same_label, total),
        "first_wrong_step_agreement": share(same_first, n_first),
    }
