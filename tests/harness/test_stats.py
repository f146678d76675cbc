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


def test_f1_interval_is_wilsons_on_the_true_positive_share_mapped_to_f1() -> None:
    """Against scipy's Wilson interval on J = TP / (TP + FP + FN), mapped by 2j / (1 + j):
    the point F1 lies inside, and a perfect or a null sample keeps a non-zero width."""
    from harness.stats.intervals import f1_interval

    for tp, fp, fn in [(40, 3, 5), (9, 0, 0), (0, 4, 6), (1, 1, 1), (120, 30, 2)]:
        ci = binomtest(tp, tp + fp + fn).proportion_ci(method="wilson")
        low, high = f1_interval(tp, fp, fn)
        assert low == pytest.approx(2 * ci.low / (1 + ci.low), abs=1e-12)
        assert high == pytest.approx(2 * ci.high / (1 + ci.high), abs=1e-12)
        assert low <= 2 * tp / (2 * tp + fp + fn) <= high and high - low > 0.01
    assert f1_interval(9, 0, 0)[1] == 1.0 and f1_interval(0, 4, 6)[0] == 0.0


@pytest.mark.parametrize("n", [30, 80, 300])
def test_f1_interval_keeps_its_coverage_where_the_bootstrap_collapses(n: int) -> None:
    """Rows fall in TP, FP, FN, TN with probabilities 0.4, 0.01, 0.01, 0.58 (F1 = 0.976):
    over 3,000 simulated samples the interval covers the true F1 at least 93% of the time
    (the binomial's discreteness moves Wilson's a little around 95%), and it is never
    zero-width, though at n=30 about 55% of samples have no error at all (where a
    percentile bootstrap over rows gives [1, 1])."""
    import numpy as np

    from harness.stats.intervals import f1_interval

    truth = 2 * 0.4 / (2 * 0.4 + 0.01 + 0.01)
    rng = np.random.default_rng(n)
    counts = rng.multinomial(n, [0.4, 0.01, 0.01, 0.58], size=3000)
    covered, perfect = 0, 0
    for tp, fp, fn, _ in counts:
        low, high = f1_interval(int(tp), int(fp), int(fn))
        assert high > low
        covered += low <= truth <= high
        perfect += fp + fn == 0
    assert covered / len(counts) >= 0.93
    if n == 30:
        assert perfect / len(counts) > 0.5


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
    assert m.ci_low is not None and m.ci_high is not None and m.ci_low < 0.6 < m.ci_high
    assert rate([], suite="s", metric="x") is None


def test_share_interval_for_three_ties_is_a_binomial_of_three() -> None:
    """All ties: mean +- 1.96 s.e. is [0.5, 0.5]; the interval is Wilson's for 1.5 of 3,
    computed here from the score-interval formula directly."""
    from harness.stats.intervals import share_interval

    low, high = share_interval([0.5, 0.5, 0.5])
    z, n, p = 1.959963984540054, 3, 0.5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert high - low > 0.7  # [0.13, 0.87]
    with pytest.raises(ValueError):
        share_interval([1.2])


@pytest.mark.parametrize("n", [5, 12, 40])
def test_share_interval_keeps_its_coverage_with_ties(n: int) -> None:
    """Judged pairs that win 20%, tie 50% and lose 30% (true win rate 0.45): over 4,000
    simulated samples the interval covers 0.45 at least 94% of the time at every n, where
    mean +- 1.96 s.e. falls short at small n (and is zero-width whenever every pair ties)."""
    import numpy as np

    from harness.stats.intervals import share_interval

    rng = np.random.default_rng(n)
    samples = rng.choice([1.0, 0.5, 0.0], p=[0.2, 0.5, 0.3], size=(4000, n))
    covered = 0
    wald = 0
    for s in samples:
        low, high = share_interval(s.tolist())
        covered += low <= 0.45 <= high
        half = 1.96 * s.std(ddof=1) / math.sqrt(n)
        wald += s.mean() - half <= 0.45 <= s.mean() + half
    assert covered / len(samples) >= 0.94
    if n == 5:
        assert wald / len(samples) < 0.93


def test_mean_without_spread_has_no_interval() -> None:
    from harness.stats.intervals import mean_ci

    flat = mean_ci([0.2, 0.2, 0.2, 0.2], suite="s", metric="m")
    assert flat is not None and flat.value == pytest.approx(0.2) and flat.n == 4
    assert flat.ci_low is None and flat.ci_high is None and "equal" in (flat.note or "")
    varied = mean_ci([0.1, 0.3], suite="s", metric="m")
    assert varied is not None and varied.ci_low is not None and varied.note is None


def test_bradley_terry_on_three_tied_prompts_states_no_interval_or_rank() -> None:
    """Three tied prompts: every resample gives 1000 for both models. No interval and no
    rank then, with the reason; from FEW prompts on, intervals come back."""
    from harness.stats.bradley_terry import bradley_terry

    tied = bradley_terry(["base", "m"], [(k, 0, 1, 0.5) for k in range(3)], reference="base")
    for row in tied.table():
        assert row["ci_low"] is None and row["rank"] is None
        assert row["note"] == "n = 3: too few prompts to tell (at least 10 needed)"
    mixed = [(k, 0, 1, [1.0, 0.0, 0.5][k % 3]) for k in range(30)]
    rows = {r["model"]: r for r in bradley_terry(["base", "m"], mixed, reference="base").table()}
    assert rows["m"]["ci_low"] < rows["m"]["rating"] < rows["m"]["ci_high"]
    assert rows["m"]["note"] is None and rows["m"]["rank"] == rows["base"]["rank"] == 1


def test_percentile_or_wilson_falls_back_only_when_the_resamples_have_no_spread() -> None:
    import numpy as np

    from harness.stats.intervals import percentile_or_wilson

    spread = np.random.default_rng(0).uniform(0.2, 0.4, 500)
    assert percentile_or_wilson(spread, 0.3, 20) == pytest.approx(
        tuple(np.quantile(spread, [0.025, 0.975]))
    )
    low, high = percentile_or_wilson([1.0] * 200, 1.0, 12)
    ci = binomtest(12, 12).proportion_ci(method="wilson")
    assert (low, high) == pytest.approx((ci.low, ci.high)) and low < high
