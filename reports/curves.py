"""The report of training with in-training evaluation (curves.json -> report.html): every
headline measure over the steps with its 95% band, the scorecard of every checkpoint, and
the trade-offs as paths in step order (safety against over-refusal; win rate against the
trainer's KL, or DPO's reward margin, where it logs one), with the `--select` choice.

Self-contained SVG, no scripts; everything from a model or a user is escaped.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from harness.stats.pareto import OVER_REFUSAL, SAFETY, estimate
from reports import svg
from reports.banners import CONSISTENCY, PARSE, card_banners, scorer_banners, share_text
from reports.html import CSP, environment
from reports.scorecard import HEADLINE, WIN_RATE, model_card, overall, with_bars
from reports.tradeoff import PANEL, panel

DRIFT_KEYS = (
    ("objective/kl", "KL from the reference (TRL objective/kl)"),
    ("rewards/margins", "DPO implicit reward margin (rewards/margins)"),
)
"""What the win rate is drawn against, the first the trainer logged at every point."""


def _label(step: int) -> str:
    return f"step {step}"


def curves_card(curves: dict[str, Any]) -> dict[str, Any]:
    """The scorecard with one row per evaluated checkpoint."""
    points = curves["points"]
    wins = {
        _label(p["step"]): p["win_rate"]
        for p in points
        if p["step"] > 0 and p.get("win_rate") and p["win_rate"].get("value") is not None
    }
    return model_card({_label(p["step"]): overall(p["metrics"]) for p in points}, wins or None)


def _bands(curves: dict[str, Any], card: dict[str, Any]) -> list[Markup]:
    steps = [p["step"] for p in curves["points"]]
    out = []
    for name, label, better in card["columns"]:
        cells = [row["cells"].get(name) for row in card["rows"]]
        out.append(
            Markup(  # labels are ours; every number formatted by reports.svg
                svg.band(
                    steps,
                    [None if c is None else c.get("value") for c in cells],
                    [None if c is None else c.get("ci_low") for c in cells],
                    [None if c is None else c.get("ci_high") for c in cells],
                    title=f"{label} ({better})" if better else label,
                    percent=name.endswith(("_rate", "_share")),
                )
            )
        )
    return out


def _path(curves: dict[str, Any], card: dict[str, Any]) -> str:
    """Safety against over-refusal, checkpoints joined in step order, tagged by step."""
    pts = []
    for row in card["rows"]:
        safety = estimate(row["cells"].get("harmful_compliance_rate"), flip=True)
        over = estimate(row["cells"].get("over_refusal_rate"))
        if safety is not None and over is not None:
            pts.append({"model": row["model"], "safety": safety, "over_refusal": over})
    if len(pts) < 2:
        return ""
    tags = {p["model"]: p["model"].removeprefix("step ") for p in pts}
    height = 30 + 300 + 56
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{PANEL}" height="{height}" '
            'role="img" class="tradeoff">',
            *panel(0, pts, tags, OVER_REFUSAL, SAFETY, join=True),
            "</svg>",
        ]
    )


def _drift(curves: dict[str, Any]) -> tuple[str, str] | None:
    """The trainer log to draw the win rate against, and its title."""
    points = [p for p in curves["points"] if p["step"] > 0]
    for key, title in DRIFT_KEYS:
        if points and all(key in p.get("trainer", {}) for p in points):
            return key, title
    return None


def _win_vs_drift(curves: dict[str, Any]) -> str:
    """Win rate against the starting policy (95% interval) over the trainer's KL or reward
    margin, checkpoints joined in step order; "" without a judge or such a log."""
    found = _drift(curves)
    if found is None:
        return ""
    key, title = found
    pts = [
        (p["step"], 0.0 if p["step"] == 0 else p["trainer"][key], p["win_rate"])
        for p in curves["points"]
        if p.get("win_rate")
        and p["win_rate"].get("value") is not None
        and (p["step"] == 0 or key in p.get("trainer", {}))
    ]
    if len(pts) < 2:
        return ""
    width, height, left, right, top, bottom = PANEL, 386, 62, 24, 30, 56
    xs = [x for _, x, _ in pts]
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0

    def px(v: float) -> float:
        return left + (v - lo) / span * (width - left - right)

    def py(v: float) -> float:
        return top + (1 - min(max(v, 0.0), 1.0)) * (height - top - bottom)

    base = height - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'class="win-drift">',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{base - top}" '
        'fill="none" stroke="#333"/>',
        f'<line x1="{left}" y1="{py(0.5):.1f}" x2="{width - right}" y2="{py(0.5):.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>',
        f'<text x="{(left + width - right) / 2:.0f}" y="{base + 38}" text-anchor="middle" '
        f'font-size="12">{svg.escape(title)}</text>',
        f'<text x="16" y="{(top + base) / 2:.0f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 16 {(top + base) / 2:.0f})">win rate vs step 0 (%)</text>',
    ]
    for k in range(5):
        t = k / 4
        parts.append(
            f'<text x="{left - 8}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'class="tick">{100 * t:.0f}</text>'
        )
        v = lo + t * span
        parts.append(
            f'<text x="{px(v):.1f}" y="{base + 18}" text-anchor="middle" font-size="11" '
            f'class="tick">{v:.3g}</text>'
        )
    line = " ".join(f"{px(x):.1f},{py(w['value']):.1f}" for _, x, w in pts)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#888" stroke-width="1.5"/>')
    for step, x, w in pts:
        if w.get("ci_low") is not None and w.get("ci_high") is not None:
            parts.append(
                f'<line x1="{px(x):.1f}" y1="{py(w["ci_low"]):.1f}" x2="{px(x):.1f}" '
                f'y2="{py(w["ci_high"]):.1f}" stroke="#36c" stroke-width="1.5" class="ci"/>'
            )
        parts.append(
            f'<circle cx="{px(x):.1f}" cy="{py(w["value"]):.1f}" r="5" fill="#36c">'
            f"<title>step {step}: {100 * w['value']:.1f}%</title></circle>"
            f'<text x="{px(x) + 7:.1f}" y="{py(w["value"]) - 7:.1f}" font-size="11" '
            f'font-weight="600">{step}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def curves_banners(curves: dict[str, Any], card: dict[str, Any]) -> list[str]:
    """Small samples, the toxicity model, a judge that is the embedded model."""
    points = curves["points"]
    out = card_banners(card) + (scorer_banners(points[-1].get("scorers", [])) if points else [])
    judged = [p for p in points if p["step"] > 0 and p.get("win_rate")]
    for key, what, then in (
        ("verdict_share", "pairs with a verdict", "the win rates rest on those pairs only"),
        (
            "judge_consistency",
            "pairs whose verdict survives the swap",
            "the others count as ties, which pulls the win rates toward 50%",
        ),
    ):
        limit = PARSE if key == "verdict_share" else CONSISTENCY
        low = [
            f"{share_text(p['win_rate'][key])} at step {p['step']}"
            for p in judged
            if p["win_rate"].get(key) and p["win_rate"][key]["value"] < limit
        ]
        if low:
            out.append(f"Unreliable judge against step 0: {what} {'; '.join(low)}; {then}.")
    judge = curves["evaluation"].get("judge") or ""
    if judge.endswith("smollm2"):
        out.append(
            "The win rates are judged by the embedded SmolLM2-135M, which is no judge at all "
            "(it prefers whichever answer comes first); judge with a real model before "
            "reading anything into them."
        )
    return out


def render_curves_report(curves: dict[str, Any]) -> str:
    """The self-contained report page."""
    card = curves_card(curves)
    return environment.get_template("curves.html.j2").render(
        csp=CSP,
        curves=curves,
        banners=curves_banners(curves, card),
        card=with_bars(card),
        baseline=_label(0),
        tradeoff="",
        front_sentences=[],
        bands=_bands(curves, card),
        path=Markup(_path(curves, card)),  # tags are step numbers; labels escaped in panel()
        win_drift=Markup(_win_vs_drift(curves)),
        headline=HEADLINE,
        win_rate=WIN_RATE,
    )


def _steps_of(curves: dict[str, Any]) -> list[int]:
    return [p["step"] for p in curves["points"]]


def _overlay_paths(variants: dict[str, dict[str, Any]]) -> str:
    """Every variant's checkpoints through safety against over-refusal, each joined in step
    order in its colour and tagged with the step; "" when none has both measures twice."""
    width, height, left, right, top, bottom = WIDTH_PATH, 400, 62, 24, 20 + 14 * len(variants), 56
    span_x, span_y = width - left - right, height - top - bottom

    def px(v: float) -> float:
        return left + min(max(v, 0.0), 1.0) * span_x

    def py(v: float) -> float:
        return top + (1 - min(max(v, 0.0), 1.0)) * span_y

    parts: list[str] = []
    drawn = 0
    for i, (name, curves) in enumerate(variants.items()):
        colour = svg.PALETTE[i % len(svg.PALETTE)]
        pts = []
        for p in curves["points"]:
            found = overall(p["metrics"])
            safety = estimate(found.get("harmful_compliance_rate"), flip=True)
            over = estimate(found.get("over_refusal_rate"))
            if safety is not None and over is not None:
                pts.append((p["step"], over.value, safety.value))
        parts.append(
            f'<rect x="{left + 6}" y="{8 + 14 * i}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{left + 20}" y="{13 + 14 * i}" font-size="11">{svg.escape(name)}</text>'
        )
        if len(pts) < 2:
            continue
        drawn += 1
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for _, x, y in pts)
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
            'class="series"/>'
        )
        for step, x, y in pts:
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}">'
                f"<title>{svg.escape(name)}, step {step}: over-refusal {100 * x:.1f}%, "
                f"safety {100 * y:.1f}%</title></circle>"
                f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" font-size="10" '
                f'fill="{colour}">{step}</text>'
            )
    if not drawn:
        return ""
    frame = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'class="paths">',
        f'<rect x="{left}" y="{top}" width="{span_x}" height="{span_y}" fill="none" '
        'stroke="#333"/>',
        f'<text x="{left + span_x / 2:.0f}" y="{height - 14}" text-anchor="middle" '
        f'font-size="12">{svg.escape(OVER_REFUSAL.title)} ← better</text>',
        f'<text x="16" y="{top + span_y / 2:.0f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + span_y / 2:.0f})">{svg.escape(SAFETY.title)} → better'
        "</text>",
    ]
    for k in range(5):
        t = k / 4
        frame.append(
            f'<text x="{px(t):.1f}" y="{top + span_y + 18}" text-anchor="middle" '
            f'font-size="11" class="tick">{100 * t:.0f}</text>'
            f'<text x="{left - 8}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'class="tick">{100 * t:.0f}</text>'
        )
    return "".join([*frame, *parts, "</svg>"])


WIDTH_PATH = svg.WIDTH // 2
"""Width of the overlaid paths chart."""


def overlay_context(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the pipeline report draws from its variants' curves.json: one chart per measure
    with a line (and faint 95% band) per variant, and every variant's path through safety
    and over-refusal."""
    cards = {name: curves_card(c) for name, c in variants.items()}
    names = {n for card in cards.values() for n, _, _ in card["columns"]}
    columns = [c for c in (*HEADLINE, WIN_RATE) if c[0] in names]
    charts = []
    for name, label, better in columns:
        series = []
        for variant, card in cards.items():
            cells = [row["cells"].get(name) for row in card["rows"]]
            if not any(cells):
                continue
            series.append(
                (
                    variant,
                    [float(s) for s in _steps_of(variants[variant])],
                    [None if c is None else c.get("value") for c in cells],
                    [None if c is None else c.get("ci_low") for c in cells],
                    [None if c is None else c.get("ci_high") for c in cells],
                )
            )
        charts.append(
            Markup(
                svg.overlay(
                    series,
                    title=f"{label} ({better})" if better else label,
                    percent=name.endswith(("_rate", "_share")),
                )
            )
        )
    return {"charts": charts, "paths": Markup(_overlay_paths(variants))}
