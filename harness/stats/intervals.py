"""Confidence intervals for the rates the harness reports."""

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


def wilson_share(k: float, n: int) -> dict[str, float]:
    """k of n as `{value, ci_low, ci_high, n}` with the Wilson 95% interval (JSON reports)."""
    low, high = wilson_interval(k, n)
    return {"value": k / n, "ci_low": low, "ci_high": high, "n": n}


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
    """Mean with a Student-t confidence interval; None under two values (no honest interval)."""
    n = len(values)
    if n < 2:
        return None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * arr.std(ddof=1) / np.sqrt(n))
    return MetricValue(
        suite=suite,
        metric=metric,
        value=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        n=n,
        scorer=scorer,
    )
