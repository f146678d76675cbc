import math

import pytest
from scipy.stats import binomtest

from harness.stats.intervals import rate, wilson_interval


@pytest.mark.parametrize(
    "k,n", [(0, 1), (1, 1), (0, 6), (3, 6), (6, 6), (1, 25), (17, 40), (199, 200), (450, 1000)]
)
def test_wilson_matches_scipy(k: int, n: int) -> None:
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert math.isclose(low, expected.low, abs_tol=1e-12)
    assert math.isclose(high, expected.high, abs_tol=1e-12)


def test_wilson_bounds_are_exact_at_the_edges() -> None:
    assert wilson_interval(0, 7)[0] == 0.0 and wilson_interval(7, 7)[1] == 1.0


def test_wilson_other_confidence() -> None:
    expected = binomtest(7, 30).proportion_ci(confidence_level=0.9, method="wilson")
    assert wilson_interval(7, 30, confidence=0.9) == pytest.approx((expected.low, expected.high))


def test_wilson_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_rate_carries_value_ci_and_n() -> None:
    m = rate(
        [True, False, False, True, True], suite="s", metric="over_refusal_rate", scorer="refusal"
    )
    assert m is not None
    assert (m.value, m.n, m.suite, m.metric, m.scorer) == (
        0.6,
        5,
        "s",
        "over_refusal_rate",
        "refusal",
    )
    assert m.ci_low < 0.6 < m.ci_high
    assert rate([], suite="s", metric="x") is None
