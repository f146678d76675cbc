"""The trade-off plot of several models: safety (1 - harmful compliance) against over-refusal,
and, where they were judged, win rate against safety; the Pareto front marked on each.

The fronts come from `harness.stats.pareto` (point estimates; "clearly behind" only where
95% intervals are apart on some axis). SVG only, no scripts; model names appear only
escaped, in a numbered legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.stats.pareto import (
    OVER_REFUSAL,
    SAFETY,
    WIN_RATE,
    Axis,
    Estimate,
    dominance,
    estimate,
)
from reports.svg import CHAR, WIDTH, escape

__all__ = ["OVER_REFUSAL", "SAFETY", "WIN_RATE", "Estimate", "dominance", "points", "tradeoff_svg"]


def points(card: dict[str, Any], baseline: str | None = None) -> list[dict[str, Any]]:
    """Each model of a scorecard (`reports.scorecard.model_card`) that has both harmful
    compliance and over-refusal: its label and the estimates on each axis (the baseline's
    win rate is 50% by definition, without an interval)."""
    out = []
    for row in card["rows"]:
        cells = row["cells"]
        safety = estimate(cells.get("harmful_compliance_rate"), flip=True)
        over = estimate(cells.get("over_refusal_rate"))
        if safety is None or over is None:
            continue
        win = estimate(cells.get("win_rate"))
        if win is None and row["model"] == baseline:
            win = Estimate(0.5, None, None)
        out.append({"model": row["model"], "safety": safety, "over_refusal": over, "win_rate": win})
    return out


PANEL = WIDTH // 2
TOP, BOTTOM, LEFT, RIGHT = 30, 56, 62, 24
PLOT = 300
"""Height of a panel's plotting area, in pixels."""


def panel(
    x0: float,
    pts: Sequence[dict[str, Any]],
    number: dict[str, str],
    x_axis: Axis,
    y_axis: Axis,
    reference: float | None = None,
    join: bool = False,
) -> list[str]:
    """One panel: axes on 0-100% with ticks, the ideal corner, each point with its interval
    on both axes (filled on the front, hollow off it) and its tag from `number`, the front
    joined by a dashed line; with `join`, the points also joined in their order (a path,
    e.g. checkpoints in step order)."""
    width = PANEL - LEFT - RIGHT
    base = TOP + PLOT

    def px(v: float) -> float:
        return x0 + LEFT + min(max(v, 0.0), 1.0) * width

    def py(v: float) -> float:
        return base - min(max(v, 0.0), 1.0) * PLOT

    ideal_x = 1.0 if x_axis.higher_is_better else 0.0
    ideal_y = 1.0 if y_axis.higher_is_better else 0.0
    parts = [
        f'<g class="panel" data-x="{x_axis.key}" data-y="{y_axis.key}">',
        f'<rect x="{x0 + LEFT}" y="{TOP}" width="{width}" height="{PLOT}" fill="none" '
        'stroke="#333"/>',
    ]
    for k in range(5):
        t = k / 4
        parts.append(
            f'<line x1="{px(t):.1f}" y1="{base}" x2="{px(t):.1f}" y2="{base + 5}" stroke="#333"/>'
            f'<text x="{px(t):.1f}" y="{base + 18}" text-anchor="middle" font-size="11" '
            f'class="tick">{100 * t:.0f}</text>'
            f'<line x1="{x0 + LEFT - 5}" y1="{py(t):.1f}" x2="{x0 + LEFT + width}" '
            f'y2="{py(t):.1f}" stroke="#eee"/>'
            f'<text x="{x0 + LEFT - 8}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'class="tick">{100 * t:.0f}</text>'
        )
    if reference is not None:
        parts.append(
            f'<line x1="{x0 + LEFT}" y1="{py(reference):.1f}" x2="{x0 + LEFT + width}" '
            f'y2="{py(reference):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    arrow_x = "→ better" if x_axis.higher_is_better else "← better"
    parts += [
        f'<text x="{x0 + LEFT + width / 2:.1f}" y="{base + 38}" text-anchor="middle" '
        f'font-size="12">{escape(x_axis.title)} {arrow_x}</text>',
        f'<text x="{x0 + 16}" y="{TOP + PLOT / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 {x0 + 16} {TOP + PLOT / 2})">{escape(y_axis.title)} → better'
        "</text>",
        f'<path d="M {px(ideal_x):.1f} {py(ideal_y) - 8:.1f} l 6 8 l -6 8 l -6 -8 z" '
        'fill="none" stroke="#2a2" stroke-width="1.5" class="ideal"><title>ideal</title></path>',
    ]
    found = {d["model"]: d for d in dominance(pts, (x_axis, y_axis))}
    front = sorted(
        (p for p in pts if p["model"] in found and found[p["model"]]["front"]),
        key=lambda p: p[x_axis.key].value,
    )
    if len(front) > 1:
        path = " ".join(
            f"{'M' if k == 0 else 'L'} {px(p[x_axis.key].value):.1f} {py(p[y_axis.key].value):.1f}"
            for k, p in enumerate(front)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="#2a2" stroke-dasharray="6 4" class="front"/>'
        )
    shown = [p for p in pts if p["model"] in found]
    if join and len(shown) > 1:
        path = " ".join(
            f"{'M' if i == 0 else 'L'} {px(p[x_axis.key].value):.1f} {py(p[y_axis.key].value):.1f}"
            for i, p in enumerate(shown)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="#888" stroke-width="1.5" class="path"/>'
        )
    at: dict[tuple[int, int], list[str]] = {}  # models drawn on the same spot share a label
    for p in shown:
        spot = (round(px(p[x_axis.key].value) / 4), round(py(p[y_axis.key].value) / 4))
        at.setdefault(spot, []).append(number[p["model"]])
    for p in shown:
        xe, ye = p[x_axis.key], p[y_axis.key]
        cx, cy = px(xe.value), py(ye.value)
        if xe.low is not None and xe.high is not None:
            parts.append(
                f'<line x1="{px(xe.low):.1f}" y1="{cy:.1f}" x2="{px(xe.high):.1f}" y2="{cy:.1f}" '
                'stroke="#36c" stroke-width="1.5" class="ci"/>'
            )
        if ye.low is not None and ye.high is not None:
            parts.append(
                f'<line x1="{cx:.1f}" y1="{py(ye.low):.1f}" x2="{cx:.1f}" y2="{py(ye.high):.1f}" '
                'stroke="#36c" stroke-width="1.5" class="ci"/>'
            )
        on_front = found[p["model"]]["front"]
        tag = number[p["model"]]
        fill = "#36c" if on_front else "#fff"
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{fill}" stroke="#36c" '
            f'stroke-width="2" class="{"on-front" if on_front else "off-front"}">'
            f"<title>{escape(tag)}. {escape(p['model'])}: {100 * xe.value:.1f}, {100 * ye.value:.1f}</title>"
            "</circle>"
        )
        same = at[(round(cx / 4), round(cy / 4))]
        if tag == same[0]:
            parts.append(
                f'<text x="{cx + 8:.1f}" y="{cy - 8:.1f}" font-size="12" font-weight="600" '
                f'class="point-label">{escape(", ".join(same))}</text>'
            )
    parts.append("</g>")
    return parts


def tradeoff_svg(pts: Sequence[dict[str, Any]]) -> str:
    """Both panels and a numbered legend, or "" when fewer than two models have safety and
    over-refusal (a trade-off needs two). The win-rate panel appears when at least two of
    them have a win rate."""
    if len(pts) < 2:
        return ""
    number = {p["model"]: str(k) for k, p in enumerate(pts, start=1)}
    judged = [p for p in pts if p["win_rate"] is not None]
    legend = [f"{k}. {p['model']}" for p, k in zip(pts, number.values(), strict=True)]
    per_line = max(1, int((WIDTH - 20) // (CHAR * (max(len(s) for s in legend) + 4))))
    lines = [legend[i : i + per_line] for i in range(0, len(legend), per_line)]
    height = TOP + PLOT + BOTTOM + 18 * len(lines) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
        'class="tradeoff">',
        *panel(0, pts, number, OVER_REFUSAL, SAFETY),
    ]
    if len(judged) >= 2:
        parts += panel(PANEL, judged, number, SAFETY, WIN_RATE, reference=0.5)
    else:
        parts.append(
            f'<text x="{PANEL + LEFT}" y="{TOP + PLOT / 2}" font-size="12" fill="#666">'
            "No win-rate panel: fewer than two of these</text>"
            f'<text x="{PANEL + LEFT}" y="{TOP + PLOT / 2 + 16}" font-size="12" fill="#666">'
            "models have a judged win rate.</text>"
        )
    step = (WIDTH - 20) / per_line
    for i, line in enumerate(lines):
        y = TOP + PLOT + BOTTOM + 14 + 18 * i
        for j, text in enumerate(line):
            parts.append(
                f'<text x="{10 + j * step:.0f}" y="{y}" font-size="12" class="legend">'
                f"{escape(text)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def front_sentences(pts: Sequence[dict[str, Any]], judged: bool) -> list[str]:
    """The fronts in words, with how sure each ordering is (plain text; escape to render)."""
    panels = [("safety and over-refusal", (SAFETY, OVER_REFUSAL))]
    if judged:
        panels.append(("safety and win rate", (SAFETY, WIN_RATE)))
    out = []
    for name, axes in panels:
        found = dominance(pts, axes)
        if len(found) < 2:
            continue
        front = [d["model"] for d in found if d["front"]]
        out.append(f"On {name}, the front (point estimates): {', '.join(front)}.")
        for d in found:
            if d["front"]:
                continue
            if d["clearly_dominated_by"]:
                out.append(
                    f"{d['model']} is clearly behind {', '.join(d['clearly_dominated_by'])} "
                    "(95% intervals apart on at least one axis)."
                )
            else:
                out.append(
                    f"{d['model']} is behind {', '.join(d['dominated_by'])} on the point "
                    "estimates, but their intervals overlap on both axes: the data cannot "
                    "order them."
                )
    return out
