"""Judging files: JSONL inputs validated with line and field in errors, JSONL outputs and
the judging summary (parse rate, consistency, cost and time, each rate with CI and n)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import InputError
from harness.core.validation import validated_rows
from harness.stats.intervals import mean_ci, rate, share_interval
from judges.llm.classify import ClassResult
from judges.llm.judge import JudgeLike
from judges.llm.pointwise import PointItem, PointResult
from judges.llm.position_swap import first_slot_choices
from judges.llm.verdicts import PairItem, PairResult


class _PairRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    prompt: str
    response_a: str
    response_b: str
    reference: str | None = None


class _PointRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    prompt: str
    response: str | None = None
    completion: str | None = None
    reference: str | None = None


def read_pairs(path: Path, *, needs_reference: bool = False) -> list[PairItem]:
    """Pairwise input: `id`, `prompt`, `response_a`, `response_b`, optional `reference`."""
    items = []
    for line, r in validated_rows(path, _PairRow):
        if needs_reference and not r.reference:
            raise InputError(
                path, "this judge template needs a reference answer", line=line, field="reference"
            )
        items.append(PairItem(r.id, r.prompt, r.response_a, r.response_b, r.reference))
    return items


def read_points(path: Path, *, needs_reference: bool = False) -> list[PointItem]:
    """Single-response input: `id`, `prompt`, `response` (or `completion`), optional `reference`."""
    items = []
    for line, r in validated_rows(path, _PointRow):
        response = r.response if r.response is not None else r.completion
        if response is None:
            raise InputError(
                path, "missing: give 'response' or 'completion'", line=line, field="response"
            )
        if needs_reference and not r.reference:
            raise InputError(
                path, "this judge template needs a reference answer", line=line, field="reference"
            )
        items.append(PointItem(r.id, r.prompt, response, r.reference))
    return items


def result_record(
    result: PairResult | PointResult | ClassResult, judge: JudgeLike
) -> dict[str, Any]:
    """One output line: the result plus which judge and template produced it."""
    record = asdict(result)
    record["judge"] = judge.spec
    record["template"] = judge.template.id
    return record


def _share(values: Sequence[float]) -> dict[str, Any] | None:
    """Mean P(B wins) with `share_interval` (never zero-width, whatever the ties)."""
    if not values:
        return None
    low, high = share_interval(values)
    return {"value": sum(values) / len(values), "ci_low": low, "ci_high": high, "n": len(values)}


def _mean(values: Sequence[float]) -> dict[str, Any] | None:
    """Mean score with a t-interval, or without one (and why) when the scores do not vary."""
    m = mean_ci(values, suite="", metric="")
    return None if m is None else m.model_dump(include={"value", "ci_low", "ci_high", "n", "note"})


def mass_distribution(masses: Sequence[float], threshold: float) -> dict[str, Any]:
    """How much probability the verdict tokens carried, over the orders with log-probs:
    quantiles and the share below the threshold (Wilson CI), which became unparsed."""
    q = sorted(masses)

    def at(f: float) -> float:
        return q[min(len(q) - 1, int(f * len(q)))]

    below = rate([m < threshold for m in q], suite="", metric="verdict_mass_below_threshold")
    assert below is not None
    return {
        "metric": "verdict_mass_below_threshold",
        **below.model_dump(include={"value", "ci_low", "ci_high", "n"}),
        "threshold": threshold,
        "quantiles": {"min": q[0], "p10": at(0.1), "median": at(0.5), "max": q[-1]},
    }


def summarise(
    results: Sequence[PairResult | PointResult | ClassResult], judge: JudgeLike
) -> dict[str, Any]:
    """Parse rate, consistency (pairwise), score/label distribution, cost and time."""
    metrics: list[dict[str, Any]] = []

    def add(m: Any) -> None:
        if m is not None:
            metrics.append(
                m.model_dump(exclude={"suite", "scorer"}) if hasattr(m, "model_dump") else m
            )

    status: dict[str, int] = {}
    for r in results:
        status[r.status] = status.get(r.status, 0) + 1
    pairs = [r for r in results if isinstance(r, PairResult)]
    if pairs:
        orders = [o for p in pairs for o in p.orders]
        add(rate([o.verdict is not None for o in orders], suite="", metric="parse_rate"))
        both = [p for p in pairs if p.consistent is not None]
        add(rate([bool(p.consistent) for p in both], suite="", metric="consistency_rate"))
        add(rate(first_slot_choices(pairs), suite="", metric="prefers_first_slot"))
        masses = [o.verdict_mass for o in orders if o.verdict_mass is not None]
        if masses:
            add(mass_distribution(masses, judge.min_verdict_mass))
        pref = _share([p.preference for p in pairs if p.preference is not None])
        if pref is not None:
            add({"metric": "preference_b", **pref})
    points = [r for r in results if isinstance(r, PointResult)]
    if points:
        add(rate([r.score is not None for r in points], suite="", metric="parse_rate"))
        scores = _mean([r.score for r in points if r.score is not None])
        if scores is not None:
            add({"metric": "mean_score", **scores})
    classes = [r for r in results if isinstance(r, ClassResult)]
    if classes:
        add(rate([r.label is not None for r in classes], suite="", metric="parse_rate"))
        labelled = [r.label for r in classes if r.label is not None]
        for label in judge.template.config.labels:
            add(rate([lab == label for lab in labelled], suite="", metric=f"share_{label}"))
    return {
        "judge": judge.describe(),
        "n": len(results),
        "status": status,
        "metrics": metrics,
        "usage": judge.spent(),
    }
