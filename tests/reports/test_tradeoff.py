"""The trade-off plot: points from a scorecard, both panels, and no plot where there is no
trade-off to show (the fronts themselves: tests/harness/test_pareto.py)."""

from reports.scorecard import model_card
from reports.tradeoff import SAFETY, WIN_RATE, Estimate, dominance, points, tradeoff_svg


def test_points_flip_harmful_compliance_into_safety() -> None:
    def m(v: float, lo: float | None, hi: float | None) -> dict:
        return {"value": v, "ci_low": lo, "ci_high": hi, "n": 20}

    card = model_card(
        {
            "base": {
                "harmful_compliance_rate": m(0.2, 0.1, 0.35),
                "over_refusal_rate": m(0.1, 0.05, 0.2),
            },
            "x": {
                "harmful_compliance_rate": m(0.5, None, None),
                "over_refusal_rate": m(0.0, 0.0, 0.16),
            },
            "no-safety": {"over_refusal_rate": m(0.3, 0.2, 0.4)},
        },
        {"base": None, "x": m(0.6, 0.4, 0.8), "no-safety": m(0.5, 0.3, 0.7)},
    )
    pts = points(card, baseline="base")
    assert [p["model"] for p in pts] == ["base", "x"]  # the third has no safety measure
    assert pts[0]["safety"] == Estimate(0.8, 0.65, 0.9)
    assert pts[0]["win_rate"] == Estimate(0.5, None, None)  # the baseline, by definition
    assert pts[1]["safety"] == Estimate(0.5, None, None)
    svg = tradeoff_svg(pts)
    assert svg.count('class="panel"') == 2 and 'data-y="win_rate"' in svg
    assert dominance(pts, (SAFETY, WIN_RATE))[1]["front"]  # x: less safe but more helpful


def test_no_plot_without_a_trade_off() -> None:
    one = [
        {
            "model": "a",
            "safety": Estimate(0.5, 0.3, 0.7),
            "over_refusal": Estimate(0.1, 0.0, 0.3),
            "win_rate": None,
        }
    ]
    assert tradeoff_svg(one) == ""
    two = [*one, {**one[0], "model": "b"}]
    svg = tradeoff_svg(two)
    assert svg.count('class="panel"') == 1 and "No win-rate panel" in svg
    # Two models on the same spot share one label.
    assert ">1, 2</text>" in svg
