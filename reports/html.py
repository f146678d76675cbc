"""The HTML environment every report renders with: Jinja2 autoescaping on every value, and a
Content-Security-Policy that forbids scripts and remote loads (model text is untrusted)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports.text import difference_text, digits_for, visible_controls

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _finalize(value: Any) -> Any:
    """Every rendered string: controls and bidi overrides made visible (then autoescaped)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_controls(value)
    return value


environment = Environment(
    loader=PackageLoader("reports", "templates"),
    finalize=_finalize,
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _metric_number(x: float, metric: str, measure: dict[str, Any] | None = None) -> str:
    """Rates and shares as percentages (1 decimal); means, distances and BLEU as plain
    numbers (3 decimals); with more decimals where the `measure`'s interval would otherwise
    show the same number at both ends."""
    if metric.endswith(("_rate", "_share")):
        return f"{100 * x:.{digits_for(measure, 100.0, 1)}f}%"
    return f"{x:.{digits_for(measure, 1.0, 3)}f}"


environment.filters["pct"] = _pct
environment.filters["metric_number"] = _metric_number
environment.filters["difference"] = difference_text
