"""The report of `harness pipeline`: one row per model (base and each trained variant) with
its training record, safety, over-refusal, toxicity and diversity from its run, and its
judged win rate against the base; as pipeline.json rows, summary.md and report.html."""

from __future__ import annotations

from typing import Any

from reports.html import CSP, environment
from reports.scorecard import HEADLINE
from reports.text import ci_text, md


def _metric(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    for m in summary["metrics"]:
        if m["metric"] == name and m["suite"] == "all":
            return {k: m.get(k) for k in ("value", "ci_low", "ci_high", "n", "note")}
    return None


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
        rows.append(
            {
                "model": label,
                "path": path,
                "method": manifest.get("method", "base"),
                "steps": manifest.get("steps"),
                "train_seconds": manifest.get("wall_seconds"),
                "final_metrics": manifest.get("final_metrics", {}),
                "metrics": {name: _metric(summaries[label], name) for name, _, _ in HEADLINE},
                "win_rate_vs_base": win,
                "avg_length": wr.get("avg_length"),
            }
        )
    return rows


def _cell(m: dict[str, Any] | None, percent: bool) -> str:
    return ci_text(m, 100.0, 1, brief=True) if percent else ci_text(m, 1.0, 3, brief=True)


def summary_markdown(payload: dict[str, Any]) -> str:
    """The comparison as a Markdown table (for a PR comment)."""
    names = [label for _, label, _ in HEADLINE]
    lines = [
        f"## Pipeline: {md(payload['config']['base'])} on {md(payload['config']['data'])}",
        "",
        f"Win rates judged by {md(payload['compare_judge'])}; 95% CIs, n in brackets.",
        "",
        "| model | method | steps | " + " | ".join(names) + " | win rate vs base |",
        "|" + "---|" * (len(names) + 4),
    ]
    for row in payload["rows"]:
        cells = [
            _cell(row["metrics"][name], name.endswith(("_rate", "_share")))
            for name, _, _ in HEADLINE
        ]
        win = row["win_rate_vs_base"]
        win_text = (
            "–"
            if win is None
            else (f"{win['value']:.1f} [{win['ci_low']:.1f}, {win['ci_high']:.1f}] (n={win['n']})")
        )
        lines.append(
            f"| {md(row['model'])} | {md(row['method'])} | {row['steps'] or '–'} | "
            + " | ".join(cells)
            + f" | {win_text} |"
        )
    lines += ["", f"Wall time: {payload['seconds']['total']:.0f} s."]
    return "\n".join(lines) + "\n"


def render_pipeline_report(payload: dict[str, Any]) -> str:
    """The self-contained HTML page."""
    return environment.get_template("pipeline.html.j2").render(
        csp=CSP, payload=payload, headline=HEADLINE, cell=_cell
    )
