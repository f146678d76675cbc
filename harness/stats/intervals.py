"""Confidence intervals for the rates the harness reports, and when not to state one.

No interval here is zero-width because a sample is degenerate: rates use Wilson's score
interval (valid at 0 and n), F1 a Wilson interval mapped from the share of true positives
among the rows that count (`f1_interval`), win rates from judged pairs a Wilson interval on
the summed preferences (`share_interval`), and a mean of values with no spread gets no
interval but a note saying why. Below `FEW` items, findings built on a measure say "too few
to tell" (`too_few`) instead of stating a result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from harness.core.records import MetricValue


def wilson_interval(k: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (well-behaved at 0 and n); a
    fractional k (ties counted as half a success) gives the interval around k / n."""
    if n <= 0:
        raise ValueError("a rate needs n >= 1")
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is outside 0..n={n}")
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def f1_interval(tp: int, fp: int, fn: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for a class's F1 = 2 TP / (2 TP + FP + FN), never zero-width.

    F1 = 2 J / (1 + J) with J = TP / (TP + FP + FN). Given how many rows are a true
    positive, a false positive or a false negative, TP is binomial in that number with the
    population's J, so Wilson's interval for J, mapped through the increasing 2 j / (1 + j),
    keeps Wilson's coverage. A percentile bootstrap over rows, by contrast, gives [1, 1]
    whenever every row of the sample is right and [0, 0] whenever none is."""
    low, high = wilson_interval(tp, tp + fp + fn, confidence)
    return 2 * low / (1 + low), 2 * high / (1 + high)


FEW = 10
"""Fewest items (pairs, answers, prompts) for a finding to be stated; below it the report
says "too few to tell" and the interval, where one is given, is wide by construction."""


def too_few(n: int, unit: str = "items") -> str:
    """The note for a measure or finding over fewer than `FEW` items."""
    return f"n = {n}: too few {unit} to tell (at least {FEW} needed)"


def share_interval(outcomes: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """95% interval for the mean of outcomes in [0, 1] (a judged pair: 1 win, 0 loss, 0.5 a
    tie or any soft preference): Wilson's interval with the summed outcomes as successes.

    Any variable on [0, 1] with mean mu has variance at most mu (1 - mu), the binomial's, so
    the interval keeps its coverage whatever share of ties there is (conservative when
    ties are many), and it is never zero-width: three ties give [0.13, 0.87], the width a
    binomial of 3 implies, where mean +- 1.96 s.e. gives [0.5, 0.5]."""
    values = np.asarray(outcomes, dtype=float)
    if len(values) == 0:
        raise ValueError("an interval needs at least one outcome")
    if np.any((values < 0) | (values > 1)):
        raise ValueError("outcomes must lie in [0, 1]")
    return wilson_interval(float(values.sum()), len(values), confidence)


def percentile_or_wilson(
    resamples: Sequence[float] | np.ndarray, value: float, n: int
) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap resamples of a share in [0, 1]; where they
    have no spread (a degenerate sample: every resample the same), Wilson's interval for
    `value` as a share of `n` instead, so the interval is never zero-width. `n` is the count
    the sample vouches for, chosen by the caller so that the fallback is conservative (the
    independent units: solutions, not their steps)."""
    low, high = np.quantile(np.asarray(resamples, dtype=float), [0.025, 0.975])
    if low == high:
        return wilson_interval(value * n, n)
    return float(low), float(high)


def wilson_share(k: float, n: int) -> dict[str, float]:
    """k of n as `{value, ci_low, ci_high, n}` with the Wilson 95% interval (JSON reports)."""
    low, high = wilson_interval(k, n)
    return {"value": k / n, "ci_low": low, "ci_high": high, "n": n}


def preference_share(preferences: Sequence[float | None]) -> dict[str, float | int | None]:
    """The mean of the preferences that have a verdict (None: no verdict, left out) as
    `{value, ci_low, ci_high, n}`, with `share_interval`'s Wilson interval on their sum;
    all None without any verdict."""
    kept = [float(p) for p in preferences if p is not None]
    if not kept:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return {**wilson_share(sum(kept), len(kept))}


def rate(
    outcomes: Sequence[bool], *, suite: str, metric: str, scorer: str | None = None
) -> MetricValue | None:
    """The share of True outcomes with its Wilson 95% CI; None when there are no outcomes."""
    n = len(outcomes)
    if n == 0:
        return None
    k = int(sum(bool(o) for o in outcomes))
    low, high = wilson_interval(k, n)
    return MetricValue(
        suite=suite, metric=metric, value=k / n, ci_low=low, ci_high=high, n=n, scorer=scorer
    )


def mean_ci(
    values: Sequence[float],
    *,
    suite: str,
    metric: str,
    scorer: str | None = None,
    confidence: float = 0.95,
) -> MetricValue | None:
    """Mean with a Student-t confidence interval; None under two values. Values with no
    spread at all (every one equal) give the mean without an interval and a note: their
    t-interval would be zero-width, surer than any finite sample allows."""
    n = len(values)
    if n < 2:
        return None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1))
    if sd == 0.0:
        return MetricValue(
            suite=suite,
            metric=metric,
            value=mean,
            ci_low=None,
            ci_high=None,
            n=n,
            scorer=scorer,
            note=f"all {n} values are equal: no spread to estimate an interval from",
        )
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
    return MetricValue(
        suite=suite,
        metric=metric,
        value=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        n=n,
        scorer=scorer,
    )
