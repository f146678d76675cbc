"""The four files of a comparison: winrates.json, judgments.jsonl, summary.md and report.html,
each written atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.atomic import write_text_atomic
from reports.compare import render_compare_report, summary_markdown

if TYPE_CHECKING:
    from harness.core.records import Sample
    from judges.llm.verdicts import PairResult
    from suites.suite import Suite


def write_compare_outputs(
    out: Path,
    stats: dict[str, Any],
    manifest: dict[str, Any],
    meta: Sequence[dict[str, Any]],
    results: Sequence[PairResult],
    jobs: Sequence[tuple[Suite, Sample]],
    outputs: dict[str, list[str]],
    truncated: dict[str, list[bool]] | None = None,
) -> dict[str, Any]:
    """Write the four files; returns winrates.json's content. With `truncated` (per model,
    whether each answer stopped at the token limit), judgments.jsonl says so per answer."""
    payload = {**stats, "manifest": manifest}
    judgments = []
    for m, r in zip(meta, results, strict=True):
        k = m["prompt_index"]
        judgments.append(
            {
                **{key: m[key] for key in ("model_a", "model_b", "suite", "id", "category")},
                "prompt": jobs[k][1].prompt_text(),
                "response_a": outputs[m["model_a"]][k],
                "response_b": outputs[m["model_b"]][k],
                **(
                    {}
                    if truncated is None
                    else {
                        "truncated_a": truncated[m["model_a"]][k],
                        "truncated_b": truncated[m["model_b"]][k],
                    }
                ),
                **{key: v for key, v in asdict(r).items() if key != "id"},
            }
        )
    write_text_atomic(out / "winrates.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(
        out / "judgments.jsonl",
        "".join(json.dumps(j, ensure_ascii=False) + "\n" for j in judgments),
    )
    write_text_atomic(out / "summary.md", summary_markdown(stats, manifest))
    write_text_atomic(out / "report.html", render_compare_report(stats, manifest, judgments))
    return payload
