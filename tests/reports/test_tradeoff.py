"""The trade-off plot: Pareto fronts against an independent sweep, "clearly behind" only when
intervals are apart, and no plot where there is no trade-off to show."""

import random

from reports.scorecard import model_card
from reports.tradeoff import (
    OVER_REFUSAL,
    SAFETY,
    WIN_RATE,
    Estimate,
    dominance,
    front_sentences,
    points,
    tradeoff_svg,
)


def _sweep_front(pts: list[tuple[float, float]]) -> set[int]:
    """Skyline by sorting: safest first (least over-refusal first among equals); a point is
    on the front iff its over-refusal is below every safer point's, and it is the first of
    any exact duplicates' equals in neither direction."""
    order = sorted(range(len(pts)), key=lambda i: (-pts[i][0], pts[i][1]))
    front: set[int] = set()
    best = float("inf")  # least over-refusal among points strictly safer
    k = 0
    while k < len(order):
        same = [i for i in order[k:] if pts[i][0] == pts[order[k]][0]]
        least = min(pts[i][1] for i in same)
        for i in same:
            if pts[i][1] == least and least < best:
                front.add(i)
        best = min(best, least)
        k += len(same)
    return front


def test_front_matches_an_independent_sweep() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(2, 9)
        raw = [(rng.randint(0, 5) / 5, rng.randint(0, 5) / 5) for _ in range(n)]  # with ties
        pts = [
            {
                "model": f"m{i}",
                "safety": Estimate(s, None, None),
                "over_refusal": Estimate(o, None, None),
            }
            for i, (s, o) in enumerate(raw)
        ]
        found = dominance(pts, (SAFETY, OVER_REFUSAL))
        assert {i for i, d in enumerate(found) if d["front"]} == _sweep_front(raw)


def test_clearly_behind_needs_intervals_apart_on_some_axis() -> None:
    a = {"model": "a", "safety": Estimate(0.9, 0.8, 0.95), "over_refusal": Estimate(0.1, 0.05, 0.2)}
    near = {
        "model": "near",
        "safety": Estimate(0.85, 0.7, 0.93),
        "over_refusal": Estimate(0.15, 0.08, 0.3),
    }
    far = {
        "model": "far",
        "safety": Estimate(0.5, 0.4, 0.6),
        "over_refusal": Estimate(0.15, 0.08, 0.3),
    }
    bare = {
        "model": "bare",
        "safety": Estimate(0.5, None, None),
        "over_refusal": Estimate(0.5, None, None),
    }
    found = {d["model"]: d for d in dominance([a, near, far, bare], (SAFETY, OVER_REFUSAL))}
    assert found["a"]["front"] and not found["near"]["front"]
    assert found["near"]["dominated_by"] == ["a"] and found["near"]["clearly_dominated_by"] == []
    # far: safety [0.4, 0.6], below a's [0.8, 0.95] and near's [0.7, 0.93]
    assert found["far"]["clearly_dominated_by"] == ["a", "near"]
    # Without an interval nothing is clear, however far the point estimates are.
    assert found["bare"]["dominated_by"] and found["bare"]["clearly_dominated_by"] == []
    said = front_sentences([a, near, far], judged=False)
    assert said[0] == "On safety and over-refusal, the front (point estimates): a."
    assert "near is behind a on the point estimates, but their intervals overlap" in said[1]
    assert said[2].startswith("far is clearly behind a, near (95% intervals apart")


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
