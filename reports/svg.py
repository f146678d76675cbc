"""Small inline SVG charts for self-contained reports (no scripts, no remote assets).

Every label is escaped (controls and bidi overrides made visible); numbers are formatted
by us. Returned strings are marked safe for Jinja by the caller only after this escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as _html_escape

from reports.text import visible_controls

WIDTH = 640


def escape(label: str) -> str:
    """A label made inert in SVG text."""
    return _html_escape(visible_controls(label))


ROW = 26
LEFT = 170
RIGHT = 40


def forest(
    labels: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    lo: float,
    hi: float,
    reference: float | None = None,
    unit: str = "",
    ideals: Sequence[float | None] | None = None,
) -> str:
    """Point estimates with horizontal CI bars, one row per label; `reference` is one dashed
    line for every row, `ideals` a marker per row (a measure's own best value)."""
    height = ROW * len(labels) + 40
    span = hi - lo if hi > lo else 1.0

    def x(v: float) -> float:
        return LEFT + (min(max(v, lo), hi) - lo) / span * (WIDTH - LEFT - RIGHT)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">'
    ]
    if reference is not None:
        parts.append(
            f'<line x1="{x(reference):.1f}" y1="5" x2="{x(reference):.1f}" y2="{height - 30}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    for k, (label, v, a, b) in enumerate(zip(labels, values, lows, highs, strict=True)):
        y = 20 + k * ROW
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        parts.append(
            f'<line x1="{x(a):.1f}" y1="{y}" x2="{x(b):.1f}" y2="{y}" stroke="#36c" stroke-width="2"/>'
        )
        ideal = ideals[k] if ideals is not None else None
        if ideal is not None:
            parts.append(
                f'<path d="M {x(ideal):.1f} {y - 7} l 5 7 l -5 7 l -5 -7 z" fill="none" '
                f'stroke="#2a2" stroke-width="1.5" class="ideal"><title>ideal: {ideal:g}{unit}'
                "</title></path>"
            )
        parts.append(
            f'<circle cx="{x(v):.1f}" cy="{y}" r="4" fill="#36c"><title>{escape(label)}: {v:.1f}{unit} [{a:.1f}, {b:.1f}]</title></circle>'
        )
    for tick in _ticks(lo, hi):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 12}" text-anchor="middle" font-size="11">{tick:g}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def scatter(
    labels: Sequence[str], xs: Sequence[float], ys: Sequence[float], *, x_label: str, y_label: str
) -> str:
    """Labelled points, e.g. win rate against average length."""
    height = 320
    x_lo, x_hi = min(xs, default=0.0), max(xs, default=1.0)
    y_lo, y_hi = 0.0, max(100.0, max(ys, default=0.0))
    x_span = (x_hi - x_lo) or 1.0

    def px(v: float) -> float:
        return 60 + (v - x_lo) / x_span * (WIDTH - 120)

    def py(v: float) -> float:
        return height - 40 - (v - y_lo) / (y_hi - y_lo) * (height - 70)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        f'<line x1="60" y1="{height - 40}" x2="{WIDTH - 60}" y2="{height - 40}" stroke="#333"/>',
        f'<line x1="60" y1="30" x2="60" y2="{height - 40}" stroke="#333"/>',
        f'<text x="{WIDTH / 2}" y="{height - 8}" text-anchor="middle" font-size="12">{escape(x_label)}</text>',
        f'<text x="14" y="{height / 2}" font-size="12" transform="rotate(-90 14 {height / 2})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for label, xv, yv in zip(labels, xs, ys, strict=True):
        parts.append(
            f'<circle cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="5" fill="#c63"><title>{escape(label)}: {xv:.0f}, {yv:.1f}</title></circle>'
        )
        parts.append(
            f'<text x="{px(xv) + 7:.1f}" y="{py(yv) - 6:.1f}" font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    """Win-rate matrix: cell (row, col) = P(row beats col) in percent; blank when unknown."""
    n = len(labels)
    cell = 56
    size_x, size_y = LEFT + cell * n + 10, 40 + cell * n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_x}" height="{size_y}" role="img">'
    ]
    for j, label in enumerate(labels):
        parts.append(
            f'<text x="{LEFT + j * cell + cell / 2}" y="24" text-anchor="middle" font-size="11">{escape(label[:9])}</text>'
        )
    for i, label in enumerate(labels):
        y = 34 + i * cell
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + cell / 2 + 4}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        for j in range(n):
            v = matrix[i][j]
            if v is None:
                fill, text = "#eee", ""
            else:
                red = int(255 * (1 - v / 100))
                blue = int(255 * (v / 100))
                fill, text = f"rgb({red},{min(red, blue) + 90},{blue})", f"{v:.0f}"
            parts.append(
                f'<rect x="{LEFT + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}"/>'
            )
            if text:
                parts.append(
                    f'<text x="{LEFT + j * cell + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="#fff">{text}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = (hi - lo) / (count - 1) if hi > lo else 1.0
    return [round(lo + k * step, 1) for k in range(count)]
