"""Banners appear when their condition holds and not otherwise, at the stated thresholds."""

from reports.banners import judge_banners, run_banners


def share(value: float, n: int = 40) -> dict:
    return {
        "value": value,
        "ci_low": max(0.0, value - 0.1),
        "ci_high": min(1.0, value + 0.1),
        "n": n,
    }


def test_judge_banners_at_their_thresholds() -> None:
    assert judge_banners({}) == []
    fine = {
        "consistency_rate": share(0.7),
        "parse_rate": share(0.9),
        "prefers_first_slot": share(0.8),
    }
    assert judge_banners(fine) == []  # each threshold itself is not a warning
    bad = {
        "consistency_rate": share(0.0, 3),
        "parse_rate": share(0.85),
        "prefers_first_slot": share(0.95),
    }
    said = judge_banners(bad, context="on m vs base")
    assert len(said) == 3 and all(s.startswith("Unreliable judge (on m vs base): ") for s in said)
    assert "on only 0% [0, 10] (n=3) of pairs" in said[0]
    assert "only 85% [75, 95] (n=40) of its replies" in said[1]
    assert "95% [85, 100] (n=40) of its decisive verdicts to the answer shown first" in said[2]
    # The audit's name for consistency counts too; a measure without a value does not.
    assert len(judge_banners({"position_consistency": share(0.5)})) == 1
    assert judge_banners({"parse_rate": {"value": None, "n": 0}}) == []
    # Pairs without a verdict (compare): warned under 90%, as replies are.
    assert judge_banners({"verdict_share": share(0.9), "consistency_rate": None}) == []
    [pairs] = judge_banners({"verdict_share": share(0.0, 16)})
    assert "only 0% [0, 10] (n=16) of pairs got a verdict" in pairs


def test_run_banners() -> None:
    def metric(name: str, n: int) -> dict:
        return {"suite": "all", "metric": name, "value": 0.5, "ci_low": 0.1, "ci_high": 0.9, "n": n}

    big = {"metrics": [metric("over_refusal_rate", 50)], "counts": {"failed": 0}, "manifest": {}}
    assert run_banners(big) == []
    small = {
        "metrics": [metric("over_refusal_rate", 4), metric("self_bleu", 50)],
        "counts": {"failed": 2},
        "manifest": {"scorers": [{"kind": "detoxify", "model": "detoxify original"}]},
    }
    said = run_banners(small)
    assert said[0].startswith("Small sample: over-refusal (n = 4).") and "self-BLEU" not in said[0]
    assert said[1].startswith("2 item(s) failed") and said[2] == (
        "Toxicity scores come from detoxify original."
    )


def test_card_banners_group_small_measures_by_the_models_they_fall_on() -> None:
    from reports.scorecard import model_card

    card = model_card(
        {
            "a": {"harmful_compliance_rate": share(0.2, 5), "over_refusal_rate": share(0.1, 5)},
            "b": {"harmful_compliance_rate": share(0.2, 5), "over_refusal_rate": share(0.1, 5)},
        },
        {"a": None, "b": share(0.6, 3)},
    )
    from reports.banners import card_banners

    assert card_banners(card) == [
        "Small sample: harmful compliance, over-refusal (n = 5) of a, b; win rate (n = 3) of b. "
        "Under 10 items the intervals are wide and differences between models cannot be told "
        "apart."
    ]
    big = model_card({"a": {"over_refusal_rate": share(0.1, 10)}, "b": {}})
    assert card_banners(big) == []
