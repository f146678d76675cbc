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


def ci_text(m: dict[str, Any] | None, scale: float = 1.0, digits: int = 1) -> str:
    """`value [low, high] (n=N)` for a measure with a CI (times `scale`), or – for none."""
    if not m or m.get("value") is None:
        return "–"
    v, lo, hi = (f"{scale * m[k]:.{digits}f}" for k in ("value", "ci_low", "ci_high"))
    return f"{v} [{lo}, {hi}] (n={m['n']})"
