"""The report page of a `harness run`: header, metrics with CIs, judge usage, every item, escaped.

Rendered from the same records written to summary.json and items.jsonl, so a report can be
rebuilt from a run directory alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from reports.banners import run_banners
from reports.html import CSP, environment
from reports.scorecard import bar, headline


def render_run_report(summary: dict[str, Any], items: Sequence[dict[str, Any]]) -> str:
    """The report page as a self-contained HTML string, opening with the banners and the
    scorecard."""
    card = [{**m, "bar": Markup(bar(m))} for m in headline(summary["metrics"])]  # numbers only
    return environment.get_template("run.html.j2").render(
        csp=CSP,
        summary=summary,
        manifest=summary["manifest"],
        items=items,
        card=card,
        banners=run_banners(summary),
    )
