"""The statistics of a comparison of several models against one baseline.

Per model against the baseline: AlpacaEval's head-to-head metrics on the judge's
position-swapped preferences (preference = 1 + P(model wins)) with `win_rate_ci`, the 95%
interval of the win rate (`share_interval`: valid with ties, never zero-width; AlpacaEval's
`standard_error` is kept as it defines it), the length-controlled win
rate (its prompts are not AlpacaEval's, so the instruction difficulty is estimated jointly
over the compared models, and `lc_difficulty` says so), average length in
characters, judge consistency. Across all judged pairs: Bradley-Terry ratings with
prompt-bootstrap CIs and a rank table with CI-aware ties, the win-rate matrix, and paired
tests of "B beats A" between every two models judged against the same baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from harness.stats.bradley_terry import bradley_terry
from harness.stats.intervals import rate, share_interval
from harness.stats.length_control import Annotation, length_controlled_winrates
from harness.stats.winrate import head_to_head, paired_difference

Pair = tuple[str, str]


class Judged(Protocol):
    """What the statistics read of one judged pair (judges.llm.verdicts.PairResult)."""

    @property
    def preference(self) -> float | None:
        """P(B wins), averaged over both presentation orders; None without a verdict."""
        ...

    @property
    def consistent(self) -> bool | None:
        """Both orders agreed (None when fewer than two orders have a verdict)."""
        ...


@dataclass
class _Tally:
    """Per (model_a, model_b): P(B wins) by prompt, order consistency, failed judgments."""

    prefs: dict[Pair, dict[int, float]] = field(default_factory=dict)
    consistency: dict[Pair, list[bool]] = field(default_factory=dict)
    failed: dict[Pair, int] = field(default_factory=dict)


def _tally(meta: Sequence[dict[str, Any]], results: Sequence[Judged]) -> _Tally:
    tally = _Tally()
    for m, r in zip(meta, results, strict=True):
        key = (m["model_a"], m["model_b"])
        if r.preference is not None:
            tally.prefs.setdefault(key, {})[m["prompt_index"]] = r.preference
        else:
            tally.failed[key] = tally.failed.get(key, 0) + 1
        if r.consistent is not None:
            tally.consistency.setdefault(key, []).append(bool(r.consistent))
    return tally


def _model_rows(
    labels: Sequence[str],
    baseline: str,
    tally: _Tally,
    outputs: dict[str, list[str]],
) -> tuple[list[dict[str, Any]], str]:
    """One leaderboard row per model: head-to-head metrics, LC win rate, length, consistency."""
    prefs, consistency, failed = tally.prefs, tally.consistency, tally.failed
    annotations = {
        b: [
            Annotation(str(k), len(outputs[a][k]), len(outputs[b][k]), p)
            for k, p in sorted(ps.items())
        ]
        for (a, b), ps in prefs.items()
        if a == baseline and ps
    }
    lc, difficulty = length_controlled_winrates(annotations) if annotations else ({}, None)
    n_prompts = len(outputs[baseline])
    rows = []
    for label in labels:
        row: dict[str, Any] = {
            "model": label,
            "avg_length": int(sum(map(len, outputs[label])) / n_prompts),
        }
        if label == baseline:
            row.update(
                win_rate=50.0, standard_error=0.0, length_controlled_winrate=50.0, n_total=n_prompts
            )  # the baseline against itself, by construction
        elif (baseline, label) in prefs:
            p = prefs[(baseline, label)]
            row.update(head_to_head([1.0 + v for v in p.values()]))
            low, high = share_interval(list(p.values()))
            row["win_rate_ci"] = [100 * low, 100 * high]
            fit = lc.get(label)
            row["length_controlled_winrate"] = None if fit is None else fit.winrate
            row["lc_standard_error"] = None if fit is None else fit.standard_error
        if label != baseline and ((baseline, label) in prefs or (baseline, label) in failed):
            key = (baseline, label)
            row["judge_failed"] = failed.get(key, 0)
            c = rate(consistency.get(key, []), suite="", metric="consistency")
            row["judge_consistency"] = (
                None if c is None else c.model_dump(include={"value", "ci_low", "ci_high", "n"})
            )
            n_verdicts = len(prefs.get(key, {}))
            v = rate(
                [True] * n_verdicts + [False] * failed.get(key, 0), suite="", metric="verdicts"
            )
            row["judge_verdict_share"] = (
                None if v is None else v.model_dump(include={"value", "ci_low", "ci_high", "n"})
            )
        rows.append(row)
    return rows, "none" if difficulty is None else difficulty.source


def _empirical_matrix(
    labels: Sequence[str], prefs: dict[Pair, dict[int, float]]
) -> list[list[float | None]]:
    """Observed win rate (%) of the row model over the column model."""
    index = {label: i for i, label in enumerate(labels)}
    empirical: list[list[float | None]] = [[None] * len(labels) for _ in labels]
    for (a, b), ps in prefs.items():
        if ps:
            mean = float(np.mean(list(ps.values()))) * 100
            empirical[index[b]][index[a]] = mean
            empirical[index[a]][index[b]] = 100 - mean
    return empirical


def _paired_tests(
    labels: Sequence[str], baseline: str, prefs: dict[Pair, dict[int, float]]
) -> list[dict[str, Any]]:
    """The test of "B beats A" for every two models judged against the baseline on shared prompts."""
    tests = []
    others = [m for m in labels if m != baseline and (baseline, m) in prefs]
    for i, a in enumerate(others):
        for b in others[i + 1 :]:
            shared = sorted(set(prefs[(baseline, a)]) & set(prefs[(baseline, b)]))
            if len(shared) >= 2:
                test = paired_difference(
                    [prefs[(baseline, a)][k] for k in shared],
                    [prefs[(baseline, b)][k] for k in shared],
                )
                tests.append({"model_a": a, "model_b": b, **test})
    return tests


def win_rate_rows(
    labels: Sequence[str],
    baseline: str,
    meta: Sequence[dict[str, Any]],
    results: Sequence[Judged],
    outputs: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """Each model's win-rate row (as in `compare_statistics`'s `models`) from these verdicts
    alone: one panel member's, say."""
    return _model_rows(labels, baseline, _tally(meta, results), outputs)[0]


def compare_statistics(
    labels: Sequence[str],
    baseline: str,
    meta: Sequence[dict[str, Any]],
    results: Sequence[Judged],
    outputs: dict[str, list[str]],
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """All numbers of the comparison (see the module docstring)."""
    tally = _tally(meta, results)
    prefs = tally.prefs
    rows, lc_difficulty = _model_rows(labels, baseline, tally, outputs)
    index = {label: i for i, label in enumerate(labels)}
    battles = [(k, index[a], index[b], p) for (a, b), ps in prefs.items() for k, p in ps.items()]
    ratings = (
        bradley_terry(labels, battles, reference=baseline, n_bootstrap=n_bootstrap)
        if battles
        else None
    )
    return {
        "baseline": baseline,
        "models": rows,
        "lc_difficulty": lc_difficulty,
        "bradley_terry": None
        if ratings is None
        else {
            "reference": baseline,
            "n_bootstrap": ratings.n_bootstrap,
            "n_prompts": ratings.n_prompts,
            "ratings": ratings.table(),
        },
        "win_matrix": {
            "models": list(labels),
            "empirical": _empirical_matrix(labels, prefs),
            "predicted": None if ratings is None else (ratings.win_matrix * 100).tolist(),
        },
        "paired_tests": _paired_tests(labels, baseline, prefs),
    }
