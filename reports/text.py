"""Plain-text pieces of reports: Markdown made inert, and a measure with its CI and n."""

from __future__ import annotations

from typing import Any


def md(text: str) -> str:
    """Text made inert in a Markdown table cell."""
    out = str(text)
    for ch in "\\`*_{}[]()<>#+!|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def ci_text(m: dict[str, Any] | None, scale: float = 1.0, digits: int = 1) -> str:
    """`value [low, high] (n=N)` for a measure with a CI (times `scale`), or – for none."""
    if not m or m.get("value") is None:
        return "–"
    v, lo, hi = (f"{scale * m[k]:.{digits}f}" for k in ("value", "ci_low", "ci_high"))
    return f"{v} [{lo}, {hi}] (n={m['n']})"
