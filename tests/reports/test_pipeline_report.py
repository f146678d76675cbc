"""The pipeline report opened in Chromium: every model's row, intervals or the reason there
are none, the win-rate interval as computed, and a hostile model name kept inert."""

from pathlib import Path
from typing import Any

from reports.pipeline import pipeline_rows, render_pipeline_report, summary_markdown
from tests.support.browser import HOSTILE, Tags, browse


def _summary(n: int) -> dict[str, Any]:
    def m(name: str, value: float) -> dict[str, Any]:
        return {
            "suite": "all",
            "metric": name,
            "value": value,
            "ci_low": value / 2,
            "ci_high": min(1.0, value * 1.5),
            "n": n,
            "scorer": "x",
        }

    return {
        "metrics": [
            m("harmful_compliance_rate", 0.4),
            m("over_refusal_rate", 0.2),
            {
                "suite": "all",
                "metric": "distinct_2",
                "value": 0.8,
                "ci_low": None,
                "ci_high": None,
                "n": n,
                "scorer": "diversity",
                "note": f"n = {n}: too few answers to tell (at least 10 needed)",
            },
        ]
    }


def test_pipeline_report_in_chromium(tmp_path: Path) -> None:
    winrates = {
        "models": [
            {"model": "base", "win_rate": 50.0, "n_total": 6},
            {
                "model": "dpo",
                "win_rate": 50.0,
                "win_rate_ci": [12.5, 87.5],
                "n_total": 3,
                "avg_length": 120,
            },
            {"model": HOSTILE, "win_rate": 100.0, "win_rate_ci": [43.9, 100.0], "n_total": 3},
        ]
    }
    models = {"base": "smollm2", "dpo": "runs/dpo", HOSTILE: "runs/x"}
    manifests = {"dpo": {"method": "dpo", "steps": 10, "wall_seconds": 42.0}}
    rows = pipeline_rows(models, manifests, {k: _summary(3) for k in models}, winrates)
    payload = {
        "config": {
            "base": "smollm2",
            "data": "hh-rlhf",
            "limit": 8,
            "methods": ["dpo"],
            "eval": {"suites": ["quick"], "max_new_tokens": 32},
            "compare": {"template": "pairwise-v1", "suites": ["helpful-smoke"]},
        },
        "compare_judge": "openai:j",
        "scorers": [{"name": "refusal", "version": "rules-v3"}],
        "seconds": {"total": 100.0},
        "rows": rows,
        "training": {},
    }
    dom = browse(render_pipeline_report(payload), tmp_path, "pipeline-report")
    parsed = Tags()
    parsed.feed(dom)
    names = [t for t, _ in parsed.tags]
    assert parsed.title == "alignment-harness pipeline: smollm2"  # no script ran
    assert "script" not in names and "img" not in names
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    # The win rate's interval is the one compare computed (Wilson; not ± 1.96 s.e.).
    assert "50.0 [12.5, 87.5] (n=3)" in dom and "Wilson" in dom and "1.96" not in dom
    assert "0.800 (n=3, no interval)" in dom and "40.0 [20.0, 60.0] (n=3)" in dom
    said = summary_markdown(payload)
    assert "50.0 [12.5, 87.5] (n=3)" in said and "<script>" not in said
