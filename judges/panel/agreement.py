"""How far a panel's members agree: how often their verdicts on an item differ (the split
rate), and Cohen's kappa with a bootstrap 95% CI for every two members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.stats.agreement import kappa_with_interval
from harness.stats.intervals import rate


def member_verdict(result: Any) -> Any:
    """A member's verdict on an item: a pair verdict (A/B/tie), a label or a grade."""
    for name in ("verdict", "label", "score"):
        if hasattr(result, name):
            return getattr(result, name)
    raise TypeError(f"not a judge result: {type(result).__name__}")


def split(result: Any) -> bool | None:
    """Whether the members' own verdicts on an item differ (None when some member has none)."""
    verdicts = [member_verdict(m) for m in result.members]
    if not verdicts or any(v is None for v in verdicts):
        return None
    return len(set(verdicts)) > 1


def panel_statistics(names: Sequence[str], results: Sequence[Any]) -> dict[str, Any]:
    """How often the members split, and every two members' agreement (Cohen's kappa on their
    verdicts, with a bootstrap 95% CI, over the items both decided)."""
    flags = [f for f in (split(r) for r in results) if f is not None]
    split_rate = rate(flags, suite="", metric="split_rate")
    kind = "pair verdicts (A/B/tie)" if results and hasattr(results[0], "verdict") else "verdicts"
    agreement = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            both = [
                (member_verdict(r.members[i]), member_verdict(r.members[j]))
                for r in results
                if member_verdict(r.members[i]) is not None
                and member_verdict(r.members[j]) is not None
            ]
            found = kappa_with_interval(
                [str(a) for a, _ in both],
                [str(b) for _, b in both],
                what=f"{names[i]} vs {names[j]}: {kind}",
                names=(names[i], names[j]),
            )
            agreement.append({"a": names[i], "b": names[j], **found})
    return {
        "split_rate": None
        if split_rate is None
        else split_rate.model_dump(include={"value", "ci_low", "ci_high", "n", "note"}),
        "agreement": agreement,
    }
