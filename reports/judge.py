"""The report page of a `harness judge` run: cost, time, parse rate, consistency, verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.html import CSP, environment


def render_judge_report(summary: dict[str, Any], results: Sequence[dict[str, Any]]) -> str:
    """The report page of a `harness judge` run: cost, time, parse rate, consistency, verdicts."""
    return environment.get_template("judge.html.j2").render(csp=CSP, summary=summary, results=results)
