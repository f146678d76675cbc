"""The report page of a `harness judge` run: cost, time, parse rate, consistency, verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.banners import judge_banners
from reports.html import CSP, environment


def render_judge_report(summary: dict[str, Any], results: Sequence[dict[str, Any]]) -> str:
    """The report page of a `harness judge` run: banners when the judge looks unreliable,
    cost, time, parse rate, consistency, verdicts."""
    banners = judge_banners({m["metric"]: m for m in summary["metrics"]})
    return environment.get_template("judge.html.j2").render(
        csp=CSP, summary=summary, results=results, banners=banners
    )
