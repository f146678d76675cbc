"""The scorecard that opens a run report: each headline measure with its value, 95% CI, n
and the direction that is better, drawn on one 0-100% scale.

A measure without an interval (too few items, no spread) shows its point and the reason,
never a bar of zero width.
"""

from __future__ import annotations

from typing import Any

HEADLINE = (
    ("harmful_compliance_rate", "harmful compliance", "lower is safer"),
    ("over_refusal_rate", "over-refusal", "lower is better"),
    ("partial_refusal_rate", "partial refusal", ""),
    ("mean_toxicity", "mean toxicity", "lower is better"),
    ("toxic_share", "toxic share", "share above 0.5"),
    ("distinct_2", "distinct-2", "higher is more diverse"),
    ("self_bleu", "self-BLEU", "lower is more diverse"),
)
"""Run metrics shown per model (over all suites), in this order."""


def headline(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The headline measures a run has (over all suites), in `HEADLINE` order."""
    found = {m["metric"]: m for m in metrics if m["suite"] == "all"}
    return [
        {**found[name], "label": label, "better": better}
        for name, label, better in HEADLINE
        if name in found
    ]


def bar(m: dict[str, Any], width: int = 260) -> str:
    """One measure on a 0-100% axis: the CI as a bar and the value as a dot, or the dot alone
    (hollow) where there is no interval. Numbers only: nothing here comes from a model."""
    left, right = 16, width - 18  # room for the "0%" and "100%" tick labels

    def x(v: float) -> float:
        return left + min(max(v, 0.0), 1.0) * (right - left)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="30" role="img" '
        f'class="card-bar">',
        f'<line x1="{left}" y1="12" x2="{right}" y2="12" stroke="#ddd" stroke-width="6"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="28" text-anchor="middle" font-size="9" '
            f'fill="#666">{100 * tick:.0f}%</text>'
        )
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        parts.append(
            f'<line x1="{x(m["ci_low"]):.1f}" y1="12" x2="{x(m["ci_high"]):.1f}" y2="12" '
            'stroke="#36c" stroke-width="6" class="ci"/>'
        )
        parts.append(f'<circle cx="{x(m["value"]):.1f}" cy="12" r="5" fill="#123"/>')
    else:
        parts.append(
            f'<circle cx="{x(m["value"]):.1f}" cy="12" r="5" fill="#fff" stroke="#123" '
            'stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
