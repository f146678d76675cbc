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
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["scorecard", "tradeoff", "header", "comparison", "training"]
    # The scorecard: the win rate's interval is the one compare computed (Wilson; not ± 1.96
    # s.e.), distinct-2 has none (hollow dot), the base is the baseline.
    card = dom[dom.index('id="scorecard"') : dom.index('id="tradeoff"')]
    assert "50.0%<br><small>[12.5%, 87.5%] n=3" in card and "1.96" not in dom
    assert "0.800<br><small><span" in card and "40.0%<br><small>[20.0%, 60.0%] n=3" in card
    assert card.count('class="ci"') == 3 * 2 + 2 and card.count(">baseline<") == 1
    # Every model has the same safety and over-refusal: none dominates another.
    assert "the front (point estimates): base, dpo, " in dom
    # n = 3 everywhere: the small-sample banner, before the scorecard.
    assert dom.index(
        "Small sample: harmful compliance, over-refusal, distinct-2 (n = 3) of base"
    ) < dom.index('id="scorecard"')
    # With 40 items per measure and pairs per win rate there is nothing to warn of.
    for w in winrates["models"]:
        w["n_total"] = 40
    calm = {
        **payload,
        "rows": pipeline_rows(models, manifests, {k: _summary(40) for k in models}, winrates),
    }
    assert 'class="banner"' not in render_pipeline_report(calm)
    assert "Warning" not in summary_markdown(calm)
    said = summary_markdown(payload)
    assert "| 50.0 [12.5, 87.5] (n=3) |" in said and "<script>" not in said
    assert "> **Warning:** Small sample" in said and "| baseline |" in said
