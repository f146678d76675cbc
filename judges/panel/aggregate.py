"""How a panel of judges decides, from its members' results on one item.

- Pairwise: per presentation order, the members' majority (`vote`; no majority is a tie)
  or their mean P(B wins) (`mean`); the orders are then combined as one judge's are
  (position swap, inconsistent -> tie or flagged).
- Classify: the members' majority label; no majority is no label (status `split`).
- Pointwise: the members' median grade (`vote`) or mean grade (`mean`).

A panel never guesses: an item (or order) some member has no verdict on has no panel
verdict, and the members' errors say why. Every member's own result stays on the panel's
(`members`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from judges.llm.classify import ClassResult
from judges.llm.pointwise import PointResult
from judges.llm.position_swap import Inconsistent, combine
from judges.llm.verdicts import OrderResult, PairResult, Verdict

Aggregate = Literal["vote", "mean"]
AGGREGATES = ("vote", "mean")
_PREF = {"A": 0.0, "B": 1.0, "tie": 0.5}


def _missing(errors: Sequence[str | None], has: Sequence[bool]) -> str | None:
    """Why the panel has no verdict: the members without one, with their reasons."""
    missing = [k for k, ok in enumerate(has) if not ok]
    if not missing:
        return None
    why = "; ".join(f"member {k + 1}: {errors[k] or 'no verdict'}" for k in missing)
    return f"panel incomplete ({why})"


def aggregate_order(votes: Sequence[OrderResult], how: Aggregate) -> OrderResult:
    """The panel's verdict on one presentation order from its members' verdicts on it."""
    order = votes[0].order
    error = _missing([v.error for v in votes], [v.verdict is not None for v in votes])
    if error is not None:
        return OrderResult(order, None, None, False, None, error)
    verdict: Verdict
    if how == "mean":
        pref = sum(float(v.preference or 0.0) for v in votes) / len(votes)
        verdict = "B" if pref > 0.5 else "A" if pref < 0.5 else "tie"
        return OrderResult(order, verdict, pref, True, None, None)
    counts = Counter(v.verdict for v in votes if v.verdict is not None).most_common()
    top = counts[0][1]
    leaders = [v for v, c in counts if c == top]
    verdict = leaders[0] if len(leaders) == 1 else "tie"
    return OrderResult(order, verdict, _PREF[verdict], False, None, None)


def check_aggregate(how: str) -> Aggregate:
    """`how` if it names an aggregate, else a ValueError saying which exist."""
    if how not in AGGREGATES:
        raise ValueError(f"panel aggregate must be one of {', '.join(AGGREGATES)}, not {how!r}")
    return how  # type: ignore[return-value]


def panel_pairs(
    members: Sequence[Sequence[PairResult]], how: Aggregate, inconsistent: Inconsistent = "tie"
) -> list[PairResult]:
    """The panel's result on each pair (members' results in the same item order)."""
    check_aggregate(how)
    out = []
    for results in zip(*members, strict=True):
        orders = [
            aggregate_order([r.orders[k] for r in results], how)
            for k in range(len(results[0].orders))
        ]
        combined = combine(results[0].id, orders, inconsistent)
        out.append(replace(combined, members=tuple(results)))
    return out


def panel_labels(members: Sequence[Sequence[ClassResult]]) -> list[ClassResult]:
    """The panel's label on each item: the members' majority, or none (`split`)."""
    out = []
    for results in zip(*members, strict=True):
        first = results[0]
        error = _missing([r.error for r in results], [r.label is not None for r in results])
        if error is not None:
            out.append(ClassResult(first.id, None, None, error, "failed", tuple(results)))
            continue
        counts = Counter(r.label for r in results).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            said = ", ".join(f"member {k + 1}: {r.label}" for k, r in enumerate(results))
            out.append(
                ClassResult(first.id, None, None, f"panel split ({said})", "split", tuple(results))
            )
        else:
            out.append(ClassResult(first.id, counts[0][0], None, None, "ok", tuple(results)))
    return out


def panel_grades(members: Sequence[Sequence[PointResult]], how: Aggregate) -> list[PointResult]:
    """The panel's grade on each item: the members' median (`vote`) or mean (`mean`)."""
    check_aggregate(how)
    out = []
    for results in zip(*members, strict=True):
        first = results[0]
        error = _missing([r.error for r in results], [r.score is not None for r in results])
        if error is not None:
            out.append(PointResult(first.id, None, None, error, "failed", tuple(results)))
            continue
        grades = [float(r.score) for r in results if r.score is not None]
        score = statistics.median(grades) if how == "vote" else statistics.fmean(grades)
        out.append(PointResult(first.id, score, None, None, "ok", tuple(results)))
    return out
