"""The comparison report: one self-contained HTML page (inline SVG, CSS-only filters, no scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from reports import svg
from reports.run_report import CSP, _env


def render_compare_report(
    stats: dict[str, Any], manifest: dict[str, Any], judgments: Sequence[dict[str, Any]]
) -> str:
    """Leaderboard with CIs, forest plot, Bradley-Terry plot, win-rate heatmap, win rate vs
    length scatter, and a side-by-side viewer filterable by verdict and category."""
    rows = sorted(stats["models"], key=lambda r: -(r.get("length_controlled_winrate") or 0))
    judged = [r for r in rows if r.get("standard_error") is not None and r.get("n_total")]
    forest = svg.forest(
        [r["model"] for r in judged],
        [r["win_rate"] for r in judged],
        [r["win_rate"] - 1.96 * r["standard_error"] for r in judged],
        [r["win_rate"] + 1.96 * r["standard_error"] for r in judged],
        lo=0,
        hi=100,
        reference=50,
        unit="%",
    )
    bt_svg = ""
    bt = stats.get("bradley_terry")
    if bt:
        ratings = bt["ratings"]
        lo = min(r["ci_low"] for r in ratings) - 20
        hi = max(r["ci_high"] for r in ratings) + 20
        bt_svg = svg.forest(
            [r["model"] for r in ratings],
            [r["rating"] for r in ratings],
            [r["ci_low"] for r in ratings],
            [r["ci_high"] for r in ratings],
            lo=lo,
            hi=hi,
            reference=1000,
        )
    matrix = stats["win_matrix"]
    heat = svg.heatmap(matrix["models"], matrix["empirical"])
    scatter = svg.scatter(
        [r["model"] for r in judged],
        [r["avg_length"] for r in judged],
        [r["win_rate"] for r in judged],
        x_label="average length (characters)",
        y_label="win rate vs baseline (%)",
    )
    categories = sorted({j.get("category") or "none" for j in judgments})
    return _env.get_template("compare.html.j2").render(
        csp=CSP,
        stats=stats,
        rows=rows,
        manifest=manifest,
        judgments=judgments,
        categories=categories,
        # The charts escape every label themselves (reports.svg).
        forest=Markup(forest),
        bt_svg=Markup(bt_svg),
        heat=Markup(heat),
        scatter=Markup(scatter),
    )
