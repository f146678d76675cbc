"""Plain-text pieces of reports: Markdown made inert, and a measure with its CI and n."""

from __future__ import annotations

import re
from typing import Any

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def visible_controls(text: str) -> str:
    """Control characters (NUL and the like) and bidirectional overrides shown as `<U+202E>`
    instead of acting: model text cannot hide or reorder what a report displays."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def md(text: str) -> str:
    """Text made inert in a Markdown table cell."""
    out = visible_controls(str(text))
    for ch in "\\`*_{}[]()<>#+!|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def digits_for(m: dict[str, Any] | None, scale: float, digits: int) -> int:
    """Decimals enough that an interval with two different ends shows two different numbers
    (up to 3 more than asked): 0.0021 [0.0019, 0.0024], never 0.002 [0.002, 0.002]."""
    if not m or m.get("ci_low") is None or m.get("ci_high") is None:
        return digits
    lo, hi = scale * m["ci_low"], scale * m["ci_high"]
    for d in range(digits, digits + 4):
        if f"{lo:.{d}f}" != f"{hi:.{d}f}":
            return d
    return digits + 3


def ci_text(
    m: dict[str, Any] | None, scale: float = 1.0, digits: int = 1, brief: bool = False
) -> str:
    """`value [low, high] (n=N)` for a measure with a CI (times `scale`), `value (n=N: no
    interval; why)` for one without (`brief`: without the why, for crowded tables whose
    reader can find it in the run's own report), or – for none."""
    if not m or m.get("value") is None:
        return "–"
    digits = digits_for(m, scale, digits)
    v = f"{scale * m['value']:.{digits}f}"
    if m.get("ci_low") is None or m.get("ci_high") is None:
        return f"{v} (n={m['n']}, no interval)" if brief else f"{v} (n={m['n']}: {no_interval(m)})"
    lo, hi = (f"{scale * m[k]:.{digits}f}" for k in ("ci_low", "ci_high"))
    return f"{v} [{lo}, {hi}] (n={m['n']})"


def difference_text(d: dict[str, Any], unit: str = "") -> str:
    """A paired difference: `+4.2 points [+1.0, +7.5]`, or `+4.2 points (why there is no
    interval)` where the test had none (`harness.stats.winrate.paired_difference`)."""
    value = f"{d['difference']:+.1f}" + (f" {unit}" if unit else "")
    if d.get("ci_low") is None or d.get("ci_high") is None:
        return f"{value} ({d.get('note') or 'no interval'})"
    return f"{value} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}]"


def no_interval(m: dict[str, Any]) -> str:
    """What a report says in place of a missing interval."""
    return f"no interval; {m['note']}" if m.get("note") else "no interval"
