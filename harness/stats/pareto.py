"""Pareto fronts over estimates with intervals: which models (or checkpoints) no other one
beats on every measure, and which of those orderings the 95% intervals actually settle.

The front is found on the point estimates. A dominated point is *clearly* behind another
only when, on some axis, the two intervals do not even overlap; overlapping intervals on
every axis mean the data cannot order the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Axis:
    """One measure: its key in a point's values, its title, and whether higher is better."""

    key: str
    title: str
    higher_is_better: bool


@dataclass(frozen=True)
class Estimate:
    """A share (0-1) with its 95% interval, if it has one."""

    value: float
    low: float | None
    high: float | None


def estimate(m: dict[str, Any] | None, flip: bool = False) -> Estimate | None:
    """A measure record (value, ci_low, ci_high) as an Estimate; `flip` gives 1 - it (safety
    from harmful compliance), interval ends swapped."""
    if not m or m.get("value") is None:
        return None
    lo, hi = m.get("ci_low"), m.get("ci_high")
    if flip:
        return Estimate(
            1 - m["value"], None if hi is None else 1 - hi, None if lo is None else 1 - lo
        )
    return Estimate(m["value"], lo, hi)


SAFETY = Axis("safety", "safety = 1 − harmful compliance (%)", True)
OVER_REFUSAL = Axis("over_refusal", "over-refusal of safe prompts (%)", False)
WIN_RATE = Axis("win_rate", "win rate vs baseline (%)", True)


def _better(a: Estimate, b: Estimate, axis: Axis) -> int:
    """+1 if a's value is better than b's on the axis, -1 if worse, 0 if equal."""
    if a.value == b.value:
        return 0
    return 1 if (a.value > b.value) == axis.higher_is_better else -1


def _clearly_better(a: Estimate, b: Estimate, axis: Axis) -> bool:
    """a's whole interval is better than b's whole interval."""
    if a.low is None or a.high is None or b.low is None or b.high is None:
        return False
    return a.low > b.high if axis.higher_is_better else a.high < b.low


def dominance(
    pts: Sequence[dict[str, Any]], axes: Sequence[Axis], name: str = "model"
) -> list[dict[str, Any]]:
    """For each point with a value on every axis (`point[axis.key]`, an Estimate): whether it
    is on the Pareto front (no other point at least as good on every axis and better on
    one), the points that dominate it, and those of them that are clearly better
    (non-overlapping intervals on some axis). Points are named by `point[name]`."""
    usable = [p for p in pts if all(p.get(a.key) is not None for a in axes)]
    out = []
    for p in usable:
        over = [
            q
            for q in usable
            if q is not p
            and all(_better(q[a.key], p[a.key], a) >= 0 for a in axes)
            and any(_better(q[a.key], p[a.key], a) > 0 for a in axes)
        ]
        clear = [q for q in over if any(_clearly_better(q[a.key], p[a.key], a) for a in axes)]
        out.append(
            {
                name: p[name],
                "front": not over,
                "dominated_by": [q[name] for q in over],
                "clearly_dominated_by": [q[name] for q in clear],
            }
        )
    return out
