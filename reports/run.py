"""The report page of a `harness run` (banners, scorecard, header, metrics with CIs, judge
usage, every item, escaped) and its summary.md.

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
from reports.text import ci_text, md


def run_summary_markdown(summary: dict[str, Any]) -> str:
    """summary.md: the banners as warnings and the scorecard as a table (for a PR comment)."""
    lines = [f"### {md(summary['model'])}: scorecard", ""]
    lines += [f"> **Warning:** {md(b)}" for b in run_banners(summary)]
    lines += ["", "| measure | value [95% CI] (n) | better |", "| --- | ---: | --- |"]
    for m in headline(summary["metrics"]):
        percent = m["metric"].endswith(("_rate", "_share"))
        value = ci_text(m, 100.0, 1) if percent else ci_text(m, 1.0, 3)
        lines.append(f"| {m['label']} | {value} | {m['better']} |")  # our numbers and words
    lines += ["", "Rates in %, over all suites; every metric per suite is in summary.json."]
    return "\n".join(lines) + "\n"


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
