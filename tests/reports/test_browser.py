"""Reports opened in a real headless Chromium (tests/support/browser.py): hostile model text
stays inert, structure holds, banners and scorecards are there when they should be."""

import re
from pathlib import Path
from typing import Any

from reports.compare import render_compare_report
from reports.run import render_run_report
from tests.support.browser import HOSTILE, browse, check_inert


def test_run_report_in_chromium(tmp_path: Path) -> None:
    summary: dict[str, Any] = {
        "model": "m",
        "metrics": [
            {
                "suite": "s",
                "metric": "over_refusal_rate",
                "value": 0.5,
                "ci_low": 0.1,
                "ci_high": 0.9,
                "n": 2,
                "scorer": "refusal",
            }
        ],
        "counts": {"items": 2, "generated": 2, "cached": 0, "failed": 0},
        "manifest": {
            "model": "m",
            "engine": {"engine": "transformers"},
            "params": {"seed": 0},
            "suites": [{"name": "s", "n": 2, "source": "s"}],
            "scorers": [{"name": "refusal", "kind": "rules", "version": "v"}],
            "versions": {},
            "command": "harness run",
            "judge_usage": [],
        },
    }
    items = [  # type: ignore[var-annotated]
        {
            "suite": "s",
            "id": f"i{k}",
            "sample_index": 0,
            "category": None,
            "should_refuse": False,
            "prompt": HOSTILE,
            "completion": HOSTILE,
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "finish_reason": "stop",
            "error": None,
            "scores": {},
        }
        for k in range(2)
    ]
    summary["metrics"] += [
        {**summary["metrics"][0], "suite": "all"},
        {
            "suite": "all",
            "metric": "distinct_2",
            "value": 0.8,
            "ci_low": None,
            "ci_high": None,
            "n": 2,
            "scorer": "diversity",
            "note": "n = 2: too few answers to tell (at least 10 needed)",
        },
    ]
    summary["manifest"]["scorers"].append(
        {"name": "toxicity", "kind": "detoxify", "version": "v", "model": "a small test model"}
    )
    dom = browse(render_run_report(summary, items), tmp_path, "run-report")
    parsed = check_inert(dom, "alignment-harness run: m")
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["scorecard", "header", "metrics", "items"]
    assert sum(1 for t, a in parsed.tags if t == "div" and a.get("class") == "item") == 2
    # The scorecard: both measures, one with its CI bar, one without (and why); banners
    # for the small sample and for the toxicity model.
    card = dom[dom.index('id="scorecard"') : dom.index('id="header"')]
    assert "over-refusal" in card and "distinct-2" in card and "50.0% [10.0%, 90.0%]" in card
    assert card.count('class="ci"') == 1 and "too few answers to tell" in card
    banners = [a for t, a in parsed.tags if t == "p" and a.get("class") == "banner"]
    assert len(banners) == 2 and "Small sample: over-refusal (n = 2)" in dom
    assert "Toxicity scores come from a small test model." in dom
    for m in summary["metrics"]:
        m["n"] = 50
    large = browse(render_run_report(summary, items), tmp_path, "run-report-n50")
    assert "Small sample" not in large and "Toxicity scores come from" in large


# Over 60 lines: most of its length is the comparison payload (with hostile strings) the
# report is rendered from, written out in full so the page's every section has data.
def test_compare_report_in_chromium(tmp_path: Path) -> None:
    stats: dict[str, Any] = {
        "baseline": "base",
        "models": [
            {
                "model": "base",
                "avg_length": 10,
                "win_rate": 50.0,
                "standard_error": 0.0,
                "length_controlled_winrate": 50.0,
                "n_total": 2,
            },
            {
                "model": "new",
                "avg_length": 20,
                "win_rate": 75.0,
                "standard_error": 10.0,
                "n_wins": 1,
                "n_wins_base": 0,
                "n_draws": 1,
                "n_total": 2,
                "discrete_win_rate": 75.0,
                "length_controlled_winrate": 70.0,
                "judge_failed": 0,
                "judge_consistency": {"value": 0.5, "ci_low": 0.1, "ci_high": 0.9, "n": 2},
                "win_rate_ci": [40.0, 95.0],
            },
            {
                "model": HOSTILE,
                "avg_length": 30,
                "win_rate": 30.0,
                "win_rate_ci": [10.0, 60.0],
                "n_total": 12,
            },
        ],
        "scorecard": {
            label: [
                {"suite": "all", "metric": "harmful_compliance_rate", "n": 20, **hc},
                {"suite": "all", "metric": "over_refusal_rate", "n": 20, **orr},
            ]
            for label, hc, orr in [
                (
                    "base",
                    {"value": 0.5, "ci_low": 0.3, "ci_high": 0.7},
                    {"value": 0.1, "ci_low": 0.03, "ci_high": 0.3},
                ),
                (
                    "new",
                    {"value": 0.2, "ci_low": 0.08, "ci_high": 0.42},
                    {"value": 0.3, "ci_low": 0.15, "ci_high": 0.52},
                ),
                (
                    HOSTILE,
                    {"value": 0.6, "ci_low": 0.39, "ci_high": 0.78},
                    {"value": 0.4, "ci_low": 0.32, "ci_high": 0.5},
                ),
            ]
        },
        "bradley_terry": {
            "reference": "base",
            "n_bootstrap": 100,
            "n_prompts": 2,
            "ratings": [
                {"model": "new", "rating": 1190.0, "ci_low": 1000.0, "ci_high": 1400.0, "rank": 1},
                {
                    "model": "base",
                    "rating": 1000.0,
                    "ci_low": 1000.0,
                    "ci_high": 1000.0,
                    "rank": 1,
                    "reference": True,
                },
            ],
        },
        "win_matrix": {
            "models": ["base", "new"],
            "empirical": [[None, 25.0], [75.0, None]],
            "predicted": None,
        },
        "paired_tests": [],
    }
    manifest = {
        "models": {
            "base": {"model": "x", "params": {"temperature": 0, "seed": 0}},
            "new": {"model": "y", "params": {"temperature": 1, "seed": 0}},
        },
        "suites": [{"name": "s", "n": 2}],
        "judge": {"spec": "openai:j", "template": "t"},
        "inconsistent": "tie",
        "versions": {},
        "command": "harness compare",
        "judge_usage": [
            {
                "judge": "openai:j",
                "template": "t",
                "requests": 4,
                "retries": 0,
                "failed": 0,
                "cached": 0,
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "seconds": 1.0,
                "cost": 0.0,
            }
        ],
    }
    judgments = [
        {
            "model_a": "base",
            "model_b": "new",
            "suite": "s",
            "id": f"i{k}",
            "category": HOSTILE,
            "prompt": HOSTILE,
            "response_a": HOSTILE,
            "response_b": HOSTILE,
            "verdict": v,
            "consistent": True,
            "preference": 1.0,
            "status": "ok",
            "orders": [{"order": "AB", "verdict": v, "raw": HOSTILE, "error": None}],
        }
        for k, v in enumerate(["B", "tie"])
    ]
    dom = browse(render_compare_report(stats, manifest, judgments), tmp_path, "compare-report")
    parsed = check_inert(dom, "alignment-harness comparison vs base")
    # Judge consistency 50% [10, 90]: under 70%, so the banner says so above the leaderboard,
    # and summary.md carries it; a consistent judge raises none.
    # And new's win rate rests on 2 pairs: a small-sample banner.
    banners = [a for t, a in parsed.tags if t == "p" and a.get("class") == "banner"]
    assert len(banners) == 2 and "Unreliable judge (on new vs base): its verdict stays" in dom
    assert "Small sample: win rate (n = 2) of new." in dom
    assert dom.index('class="banner"') < dom.index('id="leaderboard"')
    from reports.compare import summary_markdown

    said = summary_markdown(stats, manifest)  # Markdown-escaped: \\( \\)
    assert "> **Warning:** Unreliable judge \\(on new vs base\\): its verdict" in said
    stats["models"][1]["judge_consistency"] = {"value": 0.9, "ci_low": 0.8, "ci_high": 1.0, "n": 40}
    stats["models"][1]["n_total"] = 40
    calm = render_compare_report(stats, manifest, judgments)
    assert 'class="banner"' not in calm and "Warning" not in summary_markdown(stats, manifest)
    # No interval is shown with the same number at both ends (the reference's fixed 1000 is
    # marked as the reference, not as [1000, 1000]).
    assert not re.search(r"\[(-?\d+(?:\.\d+)?%?)\s*[,–-]\s*\1\]", dom)
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["scorecard", "tradeoff", "header", "leaderboard", "charts", "judges", "viewer"]
    # Charts: forest, BT, heatmap, scatter; the trade-off plot; a bar per scorecard cell
    # (3 models x harmful compliance, over-refusal; win rate for the two that were judged).
    assert sum(1 for t, _ in parsed.tags if t == "svg") == 4 + 1 + 3 * 2 + 2
    card = dom[dom.index('id="scorecard"') : dom.index('id="tradeoff"')]
    assert "20.0%" in card and "[8.0%, 42.0%] n=20" in card and card.count(">baseline<") == 1
    # The Pareto fronts: safety vs over-refusal {base, new}; safety vs win rate {new}. The
    # hostile model is clearly behind base (over-refusal intervals apart); base is behind new
    # on the second panel only on its point estimates.
    marks = [a.get("class") or "" for t, a in parsed.tags if t == "circle"]
    marks = [m for m in marks if "front" in m]
    assert marks.count("on-front") == 3 and marks.count("off-front") == 3
    tradeoff = dom[dom.index('id="tradeoff"') : dom.index('id="header"')]
    assert "the front (point estimates): base, new." in tradeoff
    assert "base is behind new on the point estimates, but their intervals overlap" in tradeoff
    assert "is clearly behind base" in tradeoff
    pairs = [a for t, a in parsed.tags if t == "div" and "pair" in (a.get("class") or "")]
    assert [p["data-verdict"] for p in pairs] == ["B", "tie"]
    radios = [a["id"] for t, a in parsed.tags if t == "input"]
    assert radios[:5] == ["v-all", "v-A", "v-B", "v-tie", "v-none"] and "c-1" in radios


def test_process_report_in_chromium(tmp_path: Path) -> None:
    """Solutions, steps and judge replies are model text: hostile ones stay inert."""
    import json

    from typer.testing import CliRunner

    from harness.cli import app
    from tests.support.fake_endpoint import FakeEndpoint

    solutions = tmp_path / "s.jsonl"
    rows = [
        {"id": f"s{k}", "question_id": "q", "question": HOSTILE, "reference": "4",
         "steps": [HOSTILE, f"2 + 2 = {3 + k}", HOSTILE + " The answer is 4."],
         "labels": ["neutral", "incorrect" if k == 0 else "correct"]}
        for k in range(2)
    ]  # fmt: skip
    solutions.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def judge(messages: list[dict]) -> str:
        text = messages[-1]["content"]
        verdict = "incorrect" if "2 + 2 = 3" in text.split("[Step to check]")[-1] else "correct"
        return HOSTILE + f" [[{verdict}]]"

    out = tmp_path / "prm"
    with FakeEndpoint(reply=judge) as ep:
        result = CliRunner().invoke(
            app,
            ["process", "--solutions", str(solutions), "--judge", "openai:j",
             "--judge-base-url", ep.url, "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    dom = browse((out / "report.html").read_text(), tmp_path, "process-report")
    parsed = check_inert(dom, "Process vs outcome supervision")
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["header", "metrics", "usage", "best-of-n", "viewer"]
    assert sum(1 for t, a in parsed.tags if t == "div" and a.get("class") == "item") == 2
    assert sum(1 for t, a in parsed.tags if t == "tr" and a.get("class") == "error") == 1


def test_shift_report_in_chromium(tmp_path: Path) -> None:
    from reports.shift import render_shift_report, shift_summary_markdown

    acc = {"value": 0.5, "ci_low": 0.3, "ci_high": 0.7, "n": 10}
    diff = {"difference": 0.0, "ci_low": -10.0, "ci_high": 10.0, "p_value": 1.0, "n": 10}
    row = {"n": 10, "standard": acc, "robust": acc, "robust_minus_standard": diff}
    payload = {
        "config": {"model": HOSTILE, "data": HOSTILE, "source_topic": "violence",
                   "shifted_topics": ["theft"], "max_steps": 1, "batch_size": 2, "beta": 0.1,
                   "robust_radius": 0.5, "robust_ball": "kl"},
        "robust_label": "KLDPO",
        "sets": {"train": 4, "eval": 10, "theft": 10},
        "results": {"eval": row, "theft": row, "shifted (all)": row},
        "worst_topic": {"standard": {"topic": "theft", **acc}, "robust": {"topic": "theft", **acc}},
        "training": {"standard": {"steps": 1, "wall_seconds": 1.0, "final_metrics": {"train_loss": 0.7}},
                     "robust": {"steps": 1, "wall_seconds": 1.0, "final_metrics": {"robust/max_weight": 0.4}}},
        "seconds": 2.0,
    }  # fmt: skip
    dom = browse(render_shift_report(payload), tmp_path, "shift-report")
    parsed = check_inert(dom, "Robust DPO under distribution shift: " + HOSTILE)
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["header", "results", "training"]
    assert sum(1 for t, _ in parsed.tags if t == "tr") == 4  # header + three sets
    assert "<script>" not in shift_summary_markdown(payload).replace("\\<script\\>", "")
