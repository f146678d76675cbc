"""The report page of a `harness judge` run: banners when the judge looks unreliable, cost,
time, parse rate, consistency, verdict counts, and every item with what the judge saw (the
prompt and the responses) beside every order's verdict and raw reply, filterable by verdict
with CSS only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from reports.banners import canary_banners, judge_banners, served_banners
from reports.html import CSP, environment


def verdict_counts(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Pairwise: A / B / tie / no verdict (unparsed) / failed; pointwise and classification:
    scored or labelled / unparsed / failed."""
    if not results:
        return {}
    if "orders" in results[0]:
        found = Counter(
            "failed"
            if r["status"] == "failed"
            else "no verdict"
            if r["verdict"] is None
            else str(r["verdict"])
            for r in results
        )
        order: tuple[str, ...] = ("A", "B", "tie", "no verdict", "failed")
    else:
        found = Counter(r["status"] for r in results)
        order = ("ok", "unparsed", "failed", "split")
    return {k: found.get(k, 0) for k in order}


def judge_usages(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Each judge's usage: the one judge's, or every panel member's (a panel answers as
    several models by design; a member that did is worth a banner)."""
    panel = summary.get("panel")
    if panel:
        return list(panel["member_usage"].values())
    return [summary["usage"]] if summary.get("usage") else []


def render_judge_report(
    summary: dict[str, Any],
    results: Sequence[dict[str, Any]],
    inputs: Sequence[dict[str, Any]] | None = None,
) -> str:
    """The report page; `inputs` are the judged items (prompt, responses, reference), in the
    order of `results`."""
    if inputs is not None and len(inputs) != len(results):
        raise ValueError("one input per result")
    banners = judge_banners({m["metric"]: m for m in summary["metrics"]})
    banners += served_banners(judge_usages(summary)) + canary_banners(summary.get("canary"))
    return environment.get_template("judge.html.j2").render(
        csp=CSP,
        summary=summary,
        items=list(
            zip(results, inputs if inputs is not None else [{}] * len(results), strict=True)
        ),
        pairwise=bool(results) and "orders" in results[0],
        counts=verdict_counts(results),
        banners=banners,
    )
