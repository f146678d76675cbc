"""The training-curves page: one band per measure, the step-order path, and banners for an
unreliable judge only when the judge was unreliable."""

import re
from typing import Any

from reports.curves import render_curves_report


def share(value: float, n: int) -> dict[str, Any]:
    return {
        "value": value,
        "ci_low": max(0.0, value - 0.2),
        "ci_high": min(1.0, value + 0.2),
        "n": n,
    }


def curves(verdicts: float) -> dict[str, Any]:
    def point(step: int, harmful: float, over: float) -> dict[str, Any]:
        metrics = [
            {"suite": "all", "metric": "harmful_compliance_rate", **share(harmful, 25)},
            {"suite": "all", "metric": "over_refusal_rate", **share(over, 25)},
        ]
        win = (
            {"value": 0.5, "ci_low": None, "ci_high": None, "n": None}
            if step == 0
            else {**share(0.6, 40), "verdict_share": share(verdicts, 50),
                  "judge_consistency": share(0.9, 40)}
        )  # fmt: skip
        return {"step": step, "checkpoint": f"checkpoints/step-{step:06d}",
                "run": f"evals/step-{step:06d}", "metrics": metrics, "scorers": [],
                "win_rate": win, "trainer": {} if step == 0 else {"rewards/margins": step / 10},
                "eval_seconds": 10.0}  # fmt: skip

    return {
        "method": "dpo",
        "base_model": "smollm2",
        "data": "pairs.jsonl",
        "evaluation": {
            "every": 10,
            "suites": ["s"],
            "scorers": ["refusal"],
            "judge": "openai:j",
            "limit": None,
            "max_new_tokens": 64,
        },
        "points": [point(0, 0.9, 0.05), point(10, 0.6, 0.2), point(20, 0.4, 0.3)],
        "selection": None,
        "seconds": {"training": 60.0, "evaluation": 30.0},
    }


def test_curves_page_and_its_judge_banners() -> None:
    page = render_curves_report(curves(verdicts=0.98))
    assert page.count('class="band"') == 3  # harmful compliance, over-refusal, win rate
    assert 'class="path"' in page and 'class="win-drift"' in page
    assert "DPO implicit reward margin" in page and 'class="banner"' not in page
    assert not re.search(r"\[(-?\d+(?:\.\d+)?%?)\s*[,–-]\s*\1\]", page)
    shaky = render_curves_report(curves(verdicts=0.3))
    banners = re.findall(r'<p class="banner">(.*?)</p>', shaky)
    assert banners == [
        "Unreliable judge against step 0: pairs with a verdict 30% [10, 50] (n=50) at step "
        "10; 30% [10, 50] (n=50) at step 20; the win rates rest on those pairs only."
    ]
