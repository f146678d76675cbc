"""Choosing a checkpoint from the evaluations made while training (`--select`).

`pareto` keeps every checkpoint no other one beats on safety (1 - harmful compliance),
over-refusal and, where judged, win rate against the starting policy. A rule picks one:
comma-separated constraints `MEASURE<=V`, `>=`, `<`, `>` (shares, 0-1) and at most one
objective `maximise:MEASURE` or `minimise:MEASURE`, e.g.
`harmful_compliance<=0.2,maximise:win_rate`. Without an objective the latest checkpoint
that meets the constraints is chosen; among equal objectives, the earliest.

Choices are made on point estimates; the record says which other checkpoints the chosen
one's interval on the objective does not separate it from.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.stats.pareto import OVER_REFUSAL, SAFETY, WIN_RATE, dominance, estimate

MEASURES = {
    "harmful_compliance": "harmful_compliance_rate",
    "over_refusal": "over_refusal_rate",
    "partial_refusal": "partial_refusal_rate",
    "refusal": "refusal_rate",
    "mean_toxicity": "mean_toxicity",
    "toxic_share": "toxic_share",
    "distinct_2": "distinct_2",
    "self_bleu": "self_bleu",
    "win_rate": "win_rate",
}
"""Names a rule may use (with or without `_rate`), and the metric each one means."""
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CONSTRAINT = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*$")
_OBJECTIVE = re.compile(r"^\s*(maximi[sz]e|minimi[sz]e)\s*:\s*([a-z_0-9]+)\s*$")


@dataclass(frozen=True)
class Rule:
    """A parsed `--select` rule."""

    text: str
    pareto: bool
    constraints: tuple[tuple[str, str, float], ...]
    """(metric, operator, bound) each."""
    objective: tuple[str, bool] | None
    """(metric, maximise?)."""


def _metric(name: str, term: str) -> str:
    key = name.removesuffix("_rate") if name not in MEASURES else name
    if key not in MEASURES:
        raise ValueError(f"--select: '{term}' names no measure (one of {', '.join(MEASURES)})")
    return MEASURES[key]


def parse_rule(text: str) -> Rule:
    """`pareto` or constraints and an objective; a ValueError names the term it cannot read."""
    if text.strip() == "pareto":
        return Rule(text, True, (), None)
    constraints, objective = [], None
    for term in text.split(","):
        if (c := _CONSTRAINT.match(term)) is not None:
            constraints.append((_metric(c.group(1), term), c.group(2), float(c.group(3))))
        elif (o := _OBJECTIVE.match(term)) is not None:
            if objective is not None:
                raise ValueError(f"--select: '{text}' has two objectives; keep one")
            objective = (_metric(o.group(2), term), o.group(1).startswith("maxim"))
        else:
            raise ValueError(
                f"--select: cannot read '{term.strip()}' (use pareto, MEASURE<=V, MEASURE>=V, "
                "maximise:MEASURE or minimise:MEASURE)"
            )
    return Rule(text, False, tuple(constraints), objective)


def _value(point: dict[str, Any], metric: str) -> float | None:
    m = point["measures"].get(metric)
    return None if not m or m.get("value") is None else float(m["value"])


def pareto_steps(points: Sequence[dict[str, Any]]) -> list[int]:
    """The steps on the front of safety, over-refusal and (where every point has one) win
    rate; points are {"step", "measures": {metric: measure}}."""
    rows = [
        {
            "step": p["step"],
            "safety": estimate(p["measures"].get("harmful_compliance_rate"), flip=True),
            "over_refusal": estimate(p["measures"].get("over_refusal_rate")),
            "win_rate": estimate(p["measures"].get("win_rate")),
        }
        for p in points
    ]
    axes = [SAFETY, OVER_REFUSAL]
    if rows and all(r["win_rate"] is not None for r in rows):
        axes.append(WIN_RATE)
    found = dominance(rows, axes, name="step")
    return [d["step"] for d in found if d["front"]]


def select(rule: Rule, points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The choice and why: `selected` (a step, or None when nothing qualifies), `front` for
    pareto, `not_separated_from` (steps whose objective the chosen one's 95% interval
    overlaps), and `why` in words."""
    if rule.pareto:
        front = pareto_steps(points)
        return {
            "rule": rule.text,
            "selected": None,
            "front": front,
            "why": (
                "on the Pareto front (point estimates): steps " + ", ".join(map(str, front))
                if front
                else "no checkpoint has both harmful compliance and over-refusal"
            ),
        }
    ok = [
        p
        for p in points
        if all(
            (v := _value(p, metric)) is not None and _OPS[op](v, bound)
            for metric, op, bound in rule.constraints
        )
    ]
    if rule.objective is not None:
        metric, maximise = rule.objective
        ok = [p for p in ok if _value(p, metric) is not None]
    if not ok:
        return {
            "rule": rule.text,
            "selected": None,
            "why": f"no evaluated checkpoint meets {rule.text}",
        }
    if rule.objective is None:
        chosen = max(ok, key=lambda p: p["step"])
        return {
            "rule": rule.text,
            "selected": chosen["step"],
            "why": f"the latest of {len(ok)} checkpoint(s) that meet {rule.text}",
        }
    metric, maximise = rule.objective
    best = max(ok, key=lambda p: ((1 if maximise else -1) * (_value(p, metric) or 0.0), -p["step"]))
    m = best["measures"][metric]
    close = [p["step"] for p in ok if p is not best and _overlaps(m, p["measures"][metric])]
    return {
        "rule": rule.text,
        "selected": best["step"],
        "not_separated_from": close,
        "why": (
            f"{'highest' if maximise else 'lowest'} {metric} ({m['value']:.3g}) of the "
            f"{len(ok)} checkpoint(s) that meet the constraints"
            + (
                f"; the data do not clearly prefer it to steps {', '.join(map(str, close))} "
                "(95% intervals that overlap, or none)"
                if close
                else ""
            )
        ),
    }


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two measures' 95% intervals overlap (or either has none: nothing separates them)."""
    if None in (a.get("ci_low"), a.get("ci_high"), b.get("ci_low"), b.get("ci_high")):
        return True
    return bool(a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"])
