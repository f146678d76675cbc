"""The files of a run: items.jsonl, summary.json, summary.md and report.html, each written
atomically."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from harness.core.atomic import write_text_atomic

if TYPE_CHECKING:
    from harness.core.records import RunResult


def summary_record(result: RunResult) -> dict[str, Any]:
    """summary.json: the model, the metrics (each with CI and n), counts and the manifest."""
    return {
        "model": result.manifest["model"],
        "metrics": [m.model_dump() for m in result.metrics],
        "counts": {
            "items": len(result.items),
            "generated": result.generated,
            "cached": result.cached,
            "failed": result.failed,
        },
        "manifest": result.manifest,
    }


def write_outputs(result: RunResult) -> None:
    """Write the run's files into its output directory."""
    from reports.run import render_run_report, run_summary_markdown

    items = [it.record() for it in result.items]
    summary = summary_record(result)
    out = result.out
    write_text_atomic(
        out / "items.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)
    )
    write_text_atomic(
        out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    )
    write_text_atomic(out / "summary.md", run_summary_markdown(summary))
    write_text_atomic(out / "report.html", render_run_report(summary, items))
