"""A panel of pairwise judges: every member judges every pair in both orders; per order the
panel's verdict is the members' majority (`vote`) or their mean P(B wins) (`mean`), and the
orders are combined as one judge's are (position swap, inconsistent -> tie or flagged).

A panel never guesses: an order some member has no verdict on has no panel verdict (the
members' errors say why), and a vote without a majority is a tie that counts as *split*.
Every member's own result stays on the panel's (`PairResult.members`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from harness.stats.intervals import rate
from judges.audit.measures import kappa_with_interval
from judges.llm.position_swap import Inconsistent, combine
from judges.llm.verdicts import OrderResult, PairResult, Verdict

Aggregate = Literal["vote", "mean"]
AGGREGATES = ("vote", "mean")
_PREF = {"A": 0.0, "B": 1.0, "tie": 0.5}


def aggregate_order(votes: Sequence[OrderResult], how: Aggregate) -> OrderResult:
    """The panel's verdict on one presentation order from its members' verdicts on it."""
    order = votes[0].order
    missing = [k for k, v in enumerate(votes) if v.verdict is None]
    if missing:
        why = "; ".join(f"member {k + 1}: {votes[k].error or 'no verdict'}" for k in missing)
        return OrderResult(order, None, None, False, None, f"panel incomplete ({why})")
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


def panel_pairs(
    members: Sequence[Sequence[PairResult]], how: Aggregate, inconsistent: Inconsistent = "tie"
) -> list[PairResult]:
    """The panel's result on each pair (members' results in the same item order)."""
    if how not in AGGREGATES:
        raise ValueError(f"panel aggregate must be one of {', '.join(AGGREGATES)}")
    out = []
    for results in zip(*members, strict=True):
        orders = [
            aggregate_order([r.orders[k] for r in results], how)
            for k in range(len(results[0].orders))
        ]
        combined = combine(results[0].id, orders, inconsistent)
        out.append(replace(combined, members=tuple(results)))
    return out


def split(result: PairResult) -> bool | None:
    """Whether the members' own pair verdicts differ (None when some member has none)."""
    verdicts = [m.verdict for m in result.members]
    if not verdicts or any(v is None for v in verdicts):
        return None
    return len(set(verdicts)) > 1


def panel_statistics(names: Sequence[str], results: Sequence[PairResult]) -> dict[str, Any]:
    """How often the members split, and every two members' agreement (Cohen's kappa on their
    pair verdicts, A/B/tie, with a bootstrap 95% CI, over the pairs both decided)."""
    flags = [f for f in (split(r) for r in results) if f is not None]
    split_rate = rate(flags, suite="", metric="split_rate")
    agreement = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            both = [
                (r.members[i].verdict, r.members[j].verdict)
                for r in results
                if r.members[i].verdict is not None and r.members[j].verdict is not None
            ]
            found = kappa_with_interval(
                [str(a) for a, _ in both],
                [str(b) for _, b in both],
                what=f"{names[i]} vs {names[j]}: pair verdicts (A/B/tie)",
                names=(names[i], names[j]),
            )
            agreement.append({"a": names[i], "b": names[j], **found})
    return {
        "split_rate": None
        if split_rate is None
        else split_rate.model_dump(include={"value", "ci_low", "ci_high", "n", "note"}),
        "agreement": agreement,
    }
