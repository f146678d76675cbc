"""The scorecard that opens a run, compare and pipeline report: each headline measure with
its value, 95% CI, n and the direction that is better, drawn on one 0-100% scale; for one
model (`headline`) or for several side by side (`model_card`), in HTML and in Markdown.

A measure without an interval (too few items, no spread) shows its point and the reason,
never a bar of zero width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.text import ci_text, md

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
WIN_RATE = ("win_rate", "win rate", "higher is more helpful")
"""The judged column of a scorecard of several models (against the baseline)."""


def overall(metrics: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each metric over all suites, by name: the `all` rows of a run over several suites,
    or the rows of its one suite."""
    suites = {m["suite"] for m in metrics}
    scope = "all" if "all" in suites else next(iter(suites)) if len(suites) == 1 else None
    return {m["metric"]: m for m in metrics if m["suite"] == scope}


def headline(metrics: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The headline measures a run has (over all suites), in `HEADLINE` order."""
    found = overall(metrics)
    return [
        {**found[name], "label": label, "better": better}
        for name, label, better in HEADLINE
        if name in found
    ]


def win_rate_measure(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A model's row of compare's statistics as a scorecard measure (a share, 0-1), or None
    for the baseline and for a model the judge gave no verdicts on."""
    ci = row.get("win_rate_ci")
    if ci is None or row.get("win_rate") is None:
        return None
    return {
        "metric": "win_rate",
        "value": row["win_rate"] / 100,
        "ci_low": ci[0] / 100,
        "ci_high": ci[1] / 100,
        "n": row.get("n_total"),
    }


def model_card(
    measures: Mapping[str, Mapping[str, dict[str, Any] | None]],
    win_rates: Mapping[str, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """The scorecard of several models from each one's measures over all suites, by name
    (`overall`): `columns` (name, label, better) that at least one model has, and per model
    (in the given order) its measure under each column or None."""
    columns = [c for c in HEADLINE if any(f.get(c[0]) for f in measures.values())]
    if win_rates and any(v is not None for v in win_rates.values()):
        columns.append(WIN_RATE)
    rows = []
    for label, found in measures.items():
        cells = {name: found.get(name) for name, _, _ in columns}
        if WIN_RATE in columns:
            cells["win_rate"] = (win_rates or {}).get(label)
        rows.append({"model": label, "cells": cells})
    return {"columns": columns, "rows": rows}


def cell_text(m: dict[str, Any] | None, name: str, brief: bool = False) -> str:
    """A measure as `value [low, high] (n=N)`: rates and shares in %, others as 0-1."""
    percent = name.endswith(("_rate", "_share"))
    return ci_text(m, 100.0 if percent else 1.0, 1 if percent else 3, brief=brief)


def card_markdown(card: dict[str, Any], baseline: str | None = None) -> list[str]:
    """The scorecard of several models as a Markdown table (model names made inert)."""
    head = [f"{label}" + (f" ({better})" if better else "") for _, label, better in card["columns"]]
    lines = [
        "| model | " + " | ".join(head) + " |",
        "| --- |" + " ---: |" * len(head),
    ]
    for row in card["rows"]:
        cells = []
        for name, _, _ in card["columns"]:
            m = row["cells"][name]
            cells.append(
                "baseline"
                if name == "win_rate" and row["model"] == baseline
                else cell_text(m, name)
            )
        lines.append(f"| {md(row['model'])} | " + " | ".join(cells) + " |")
    return lines


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


def with_bars(card: dict[str, Any], width: int = 110) -> dict[str, Any]:
    """The card with each row's measures drawn (`bars`, by column name) for the HTML page."""
    from markupsafe import Markup

    rows = [
        {
            **row,
            "bars": {
                name: Markup(bar(m, width)) if m else ""  # numbers only
                for name, m in row["cells"].items()
            },
        }
        for row in card["rows"]
    ]
    return {**card, "rows": rows}


def card_context(card: dict[str, Any], baseline: str | None) -> dict[str, Any]:
    """What `model_card.html.j2` renders: the card with its bars, the trade-off plot (or
    nothing, with fewer than two models that have safety and over-refusal) and the Pareto
    fronts in words."""
    from markupsafe import Markup

    from reports.tradeoff import front_sentences, points, tradeoff_svg

    pts = points(card, baseline)
    judged = sum(p["win_rate"] is not None for p in pts) >= 2
    return {
        "card": with_bars(card),
        "baseline": baseline,
        "tradeoff": Markup(tradeoff_svg(pts)),  # labels escaped by reports.svg.escape
        "front_sentences": front_sentences(pts, judged) if len(pts) >= 2 else [],
    }
