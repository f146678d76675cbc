"""The report of `harness pipeline`: one row per model (base and each trained variant) with
its training record, safety, over-refusal, toxicity and diversity from its run, and its
judged win rate against the base; as pipeline.json rows, summary.md and report.html, each
opening with the scorecard of every model and the trade-off plot."""

from __future__ import annotations

from typing import Any

from reports.banners import card_banners, model_judge_banners, scorer_banners
from reports.html import CSP, environment
from reports.scorecard import (
    HEADLINE,
    card_context,
    card_markdown,
    model_card,
    overall,
    win_rate_measure,
)
from reports.text import md


def pipeline_rows(
    models: dict[str, str],
    manifests: dict[str, dict[str, Any]],
    summaries: dict[str, dict[str, Any]],
    winrates: dict[str, Any],
) -> list[dict[str, Any]]:
    """One row per model: training record, headline metrics with CIs, win rate vs base."""
    by_label = {row["model"]: row for row in winrates["models"]}
    rows = []
    for label, path in models.items():
        manifest = manifests.get(label, {})
        wr = by_label.get(label, {})
        win = None
        if wr.get("win_rate_ci") is not None and label != "base":
            win = {
                "value": wr["win_rate"],
                "ci_low": wr["win_rate_ci"][0],
                "ci_high": wr["win_rate_ci"][1],
                "n": wr.get("n_total"),
                "length_controlled": wr.get("length_controlled_winrate"),
            }
        found = overall(summaries[label]["metrics"])
        rows.append(
            {
                "model": label,
                "path": path,
                "method": manifest.get("method", "base"),
                "steps": manifest.get("steps"),
                "train_seconds": manifest.get("wall_seconds"),
                "final_metrics": manifest.get("final_metrics", {}),
                "metrics": {name: found.get(name) for name, _, _ in HEADLINE},
                "win_rate_vs_base": win,
                "win_rate_share": win_rate_measure(wr) if win is not None else None,
                "judge_consistency": wr.get("judge_consistency"),
                "judge_verdict_share": wr.get("judge_verdict_share"),
                "avg_length": wr.get("avg_length"),
            }
        )
    return rows


def pipeline_card(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The scorecard of every model of the pipeline (win rates as shares, like the rest)."""
    return model_card(
        {row["model"]: row["metrics"] for row in rows},
        {row["model"]: row["win_rate_share"] for row in rows},
    )


def pipeline_banners(payload: dict[str, Any]) -> list[str]:
    """Small samples, the toxicity model, and an unreliable win-rate judge."""
    out = card_banners(pipeline_card(payload["rows"])) + scorer_banners(payload["scorers"])
    return out + model_judge_banners(payload["rows"], "base")


def summary_markdown(payload: dict[str, Any]) -> str:
    """The scorecard and the training of each model as Markdown tables (for a PR comment)."""
    lines = [
        f"## Pipeline: {md(payload['config']['base'])} on {md(payload['config']['data'])}",
        "",
        *(f"> **Warning:** {md(b)}" for b in pipeline_banners(payload)),
        "",
        *card_markdown(pipeline_card(payload["rows"]), "base"),
        "",
        f"Rates in %, over all evaluated suites, with [95% CI] and n; win rates against the "
        f"base judged by {md(payload['compare_judge'])} in both orders.",
        "",
        "| model | method | steps | training time | avg. length |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in payload["rows"]:
        seconds = row["train_seconds"]
        lines.append(
            f"| {md(row['model'])} | {md(row['method'])} | {row['steps'] or '–'} | "
            f"{'–' if seconds is None else f'{seconds:.0f} s'} | {row['avg_length'] or '–'} |"
        )
    lines += ["", f"Wall time: {payload['seconds']['total']:.0f} s."]
    return "\n".join(lines) + "\n"


def render_pipeline_report(payload: dict[str, Any]) -> str:
    """The self-contained HTML page."""
    from reports.curves import overlay_context

    curves = payload.get("curves") or {}
    return environment.get_template("pipeline.html.j2").render(
        csp=CSP,
        payload=payload,
        banners=pipeline_banners(payload),
        **card_context(pipeline_card(payload["rows"]), "base"),
        overlay=overlay_context(curves) if curves else None,
    )
