"""The three files of a run: items.jsonl, summary.json and report.html, each written atomically."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from harness.atomic import write_text_atomic

if TYPE_CHECKING:
    from harness.runner import ItemResult, RunResult


def item_record(it: ItemResult) -> dict[str, Any]:
    """One line of items.jsonl."""
    c = it.completion
    return {
        "suite": it.suite,
        "id": it.sample.id,
        "sample_index": it.index,
        "category": it.sample.category,
        "should_refuse": it.sample.should_refuse,
        "prompt": it.sample.prompt_text(),
        "messages": [m.model_dump() for m in it.sample.chat()],
        "completion": c.text,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "finish_reason": c.finish_reason,
        "error": c.error,
        "scores": {name: asdict(s) for name, s in it.scores.items()},
    }


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
    from reports.run_report import render_run_report

    items = [item_record(it) for it in result.items]
    summary = summary_record(result)
    out = result.out
    write_text_atomic(
        out / "items.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)
    )
    write_text_atomic(
        out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    )
    write_text_atomic(out / "report.html", render_run_report(summary, items))
