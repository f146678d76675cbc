"""Small inline SVG charts for self-contained reports (no scripts, no remote assets).

Every label is escaped (controls and bidi overrides made visible); numbers are formatted
by us. Returned strings are marked safe for Jinja by the caller only after this escaping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape as _html_escape

from reports.text import visible_controls

WIDTH = 1000
"""Chart width in pixels: the page's text column (75rem) less its margins."""
CHAR = 7.0
"""Width of one character of 12px label text, near enough to size margins by."""


def escape(label: str) -> str:
    """A label made inert in SVG text."""
    return _html_escape(visible_controls(label))


ROW = 26
LEFT = 170
RIGHT = 40


def _left(labels: Sequence[str]) -> float:
    """Room for the longest row label (at least LEFT, at most half the chart)."""
    longest = max((len(visible_controls(label)) for label in labels), default=0)
    return min(WIDTH / 2, max(LEFT, CHAR * longest + 16))


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
    left = _left(labels)

    def x(v: float) -> float:
        return left + (min(max(v, lo), hi) - lo) / span * (WIDTH - left - RIGHT)

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
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="12">{escape(label)}</text>'
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
    """Labelled points, e.g. win rate against average length, with tick values on both axes;
    a point's label goes to its left in the right half, so none runs off the chart."""
    height, left, right, top, bottom = 360, 70, 30, 20, 50
    x_lo, x_hi = min(xs, default=0.0), max(xs, default=1.0)
    pad = (x_hi - x_lo) * 0.05 or 1.0
    x_lo, x_hi = x_lo - pad, x_hi + pad
    y_lo, y_hi = 0.0, max(100.0, max(ys, default=0.0))

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (WIDTH - left - right)

    def py(v: float) -> float:
        return height - bottom - (v - y_lo) / (y_hi - y_lo) * (height - top - bottom)

    base = height - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        f'<line x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#333"/>',
        f'<text x="{(left + WIDTH - right) / 2}" y="{height - 8}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}</text>',
        f'<text x="14" y="{(top + base) / 2}" font-size="12" '
        f'transform="rotate(-90 14 {(top + base) / 2})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for tick in _ticks(x_lo + pad, x_hi - pad) if len(set(xs)) > 1 else list(set(xs)):
        parts.append(
            f'<line x1="{px(tick):.1f}" y1="{base}" x2="{px(tick):.1f}" y2="{base + 5}" stroke="#333"/>'
            f'<text x="{px(tick):.1f}" y="{base + 18}" text-anchor="middle" font-size="11" '
            f'class="tick">{tick:g}</text>'
        )
    for tick in _ticks(y_lo, y_hi):
        parts.append(
            f'<line x1="{left - 5}" y1="{py(tick):.1f}" x2="{WIDTH - right}" y2="{py(tick):.1f}" '
            f'stroke="#eee"/><text x="{left - 8}" y="{py(tick) + 4:.1f}" text-anchor="end" '
            f'font-size="11" class="tick">{tick:g}</text>'
        )
    middle = (left + WIDTH - right) / 2
    for label, xv, yv in zip(labels, xs, ys, strict=True):
        to_left = px(xv) > middle
        parts.append(
            f'<circle cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="5" fill="#c63"><title>{escape(label)}: {xv:.0f}, {yv:.1f}</title></circle>'
        )
        parts.append(
            f'<text x="{px(xv) + (-8 if to_left else 8):.1f}" y="{max(py(yv) - 7, top + 10):.1f}" '
            f'text-anchor="{"end" if to_left else "start"}" font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    """Win-rate matrix: cell (row, col) = P(row beats col) in percent; blank when unknown."""
    n = len(labels)
    cell = 56
    left = _left(labels)
    # Column names in full, turned 40 degrees, with room above the cells for the longest.
    longest = max((len(visible_controls(label)) for label in labels), default=0)
    top = 20 + 0.65 * CHAR * longest  # sin 40 degrees of the longest name
    size_x = left + cell * n + 0.77 * CHAR * longest  # the last name runs right (cos 40)
    size_y = top + 10 + cell * n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_x:.0f}" height="{size_y:.0f}" role="img">'
    ]
    for j, label in enumerate(labels):
        cx = left + j * cell + cell / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top:.1f}" font-size="11" transform="rotate(-40 {cx:.1f} '
            f'{top:.1f})">{escape(label)}</text>'
        )
    for i, label in enumerate(labels):
        y = top + 10 + i * cell
        parts.append(
            f'<text x="{left - 8}" y="{y + cell / 2 + 4}" text-anchor="end" font-size="12">{escape(label)}</text>'
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
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}"/>'
            )
            if text:
                parts.append(
                    f'<text x="{left + j * cell + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="#fff">{text}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = (hi - lo) / (count - 1) if hi > lo else 1.0
    return [round(lo + k * step, 1) for k in range(count)]


def _step_axes(
    xs: Sequence[float],
    *,
    width: int,
    height: int,
    top: int,
    title: str,
    percent: bool,
    css: str,
    tick_marks: bool,
) -> tuple[list[str], Callable[[float], float], Callable[[float], float]]:
    """The frame of a measure (0-1) over training steps: the opening tag, title, axes,
    y ticks on 0-1 (in % for rates), step ticks (every step up to 8, else 5 whole ones);
    with the x and y pixel functions."""
    left, right, bottom = 52, 16, 38
    x_lo, x_hi = min(xs, default=0.0), max(xs, default=1.0)
    x_span = (x_hi - x_lo) or 1.0

    def px(v: float) -> float:
        return left + (v - x_lo) / x_span * (width - left - right)

    def py(v: float) -> float:
        return height - bottom - min(max(v, 0.0), 1.0) * (height - top - bottom)

    base = height - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'class="{css}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#333"/>',
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" text-anchor="middle" '
        'font-size="11">training step</text>',
    ]
    for k in range(5):
        t = k / 4
        label = f"{100 * t:.0f}%" if percent else f"{t:g}"
        parts.append(
            f'<line x1="{left - 4}" y1="{py(t):.1f}" x2="{width - right}" y2="{py(t):.1f}" '
            f'stroke="#eee"/><text x="{left - 7}" y="{py(t) + 4:.1f}" text-anchor="end" '
            f'font-size="10" class="tick">{label}</text>'
        )
    steps = sorted(set(xs))
    for x in steps if len(steps) <= 8 else [round(t) for t in _ticks(x_lo, x_hi)]:
        mark = (
            f'<line x1="{px(x):.1f}" y1="{base}" x2="{px(x):.1f}" y2="{base + 4}" stroke="#333"/>'
            if tick_marks
            else ""
        )
        parts.append(
            f'{mark}<text x="{px(x):.1f}" y="{base + 15}" text-anchor="middle" font-size="10" '
            f'class="tick">{x:g}</text>'
        )
    return parts, px, py


def band(
    xs: Sequence[float],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    title: str,
    percent: bool,
    width: int = WIDTH // 2 - 10,
) -> str:
    """One measure (0-1) over training steps: its 95% interval as a shaded band, the values
    as a line with dots (hollow where there is no interval); ticks on both axes."""
    parts, px, py = _step_axes(
        xs, width=width, height=200, top=26, title=title, percent=percent, css="band",
        tick_marks=True,
    )  # fmt: skip
    with_ci = [
        (x, lo, hi)
        for x, lo, hi in zip(xs, lows, highs, strict=True)
        if lo is not None and hi is not None
    ]
    if len(with_ci) > 1:
        upper = " ".join(f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in with_ci)
        lower = " ".join(f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(with_ci))
        parts.append(
            f'<polygon points="{upper} {lower}" fill="#36c" fill-opacity="0.18" class="ci"/>'
        )
    for x, lo, hi in with_ci:
        parts.append(
            f'<line x1="{px(x):.1f}" y1="{py(lo):.1f}" x2="{px(x):.1f}" y2="{py(hi):.1f}" '
            'stroke="#36c" stroke-opacity="0.5"/>'
        )
    known = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    if len(known) > 1:
        line = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in known)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#36c" stroke-width="2"/>')
    has_ci = {x for x, _, _ in with_ci}
    for x, v in known:
        fill = "#36c" if x in has_ci else "#fff"
        shown = f"{100 * v:.1f}%" if percent else f"{v:.3f}"
        parts.append(
            f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3.5" fill="{fill}" stroke="#36c" '
            f'stroke-width="1.5"><title>step {x:g}: {shown}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


PALETTE = ("#36c", "#c63", "#393", "#939", "#c39", "#666")
"""Series colours of overlaid charts, in order."""


def overlay(
    series: Sequence[
        tuple[
            str,
            Sequence[float],
            Sequence[float | None],
            Sequence[float | None],
            Sequence[float | None],
        ]
    ],
    *,
    title: str,
    percent: bool,
    width: int = WIDTH // 2 - 10,
) -> str:
    """Several series of one measure (0-1) over training steps, each in its colour with its
    95% interval as a faint band and a legend (names escaped)."""
    left = 52
    parts, px, py = _step_axes(
        [x for _, xs, _, _, _ in series for x in xs], width=width, height=220,
        top=26 + 14 * len(series), title=title, percent=percent, css="overlay",
        tick_marks=False,
    )  # fmt: skip
    for i, (name, xs, values, lows, highs) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{left + 4}" y="{22 + 14 * i}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{left + 18}" y="{27 + 14 * i}" font-size="11">{escape(name)}</text>'
        )
        band_pts = [
            (x, lo, hi)
            for x, lo, hi in zip(xs, lows, highs, strict=True)
            if lo is not None and hi is not None
        ]
        if len(band_pts) > 1:
            upper = " ".join(f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in band_pts)
            lower = " ".join(f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(band_pts))
            parts.append(
                f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.12" class="ci"/>'
            )
        known = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if len(known) > 1:
            line = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in known)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
                'class="series"/>'
            )
        for x, v in known:
            shown = f"{100 * v:.1f}%" if percent else f"{v:.3f}"
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}, step {x:g}: {shown}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
