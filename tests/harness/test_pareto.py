"""Pareto fronts against an independent sweep, and "clearly behind" only when intervals are
apart on some axis."""

import random

from harness.stats.pareto import OVER_REFUSAL, SAFETY, Estimate, dominance
from reports.tradeoff import front_sentences


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
