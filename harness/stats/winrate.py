"""Head-to-head win rates against a baseline, defined exactly as AlpacaEval 2.0 defines them.

Preferences run from 1 (baseline wins) to 2 (model wins); 1.5, and the legacy 0, is a draw;
anything else (missing, out of range) is not a preference and is dropped. With p = pref - 1:

- `win_rate` = 100 * mean(p), `standard_error` = 100 * SEM(p) (ddof 1);
- `n_wins` = #(p > 0.5), `n_wins_base` = #(p < 0.5), `n_draws` = #(pref in {1.5, 0}),
  `n_total` = #preferences;
- `discrete_win_rate`: as AlpacaEval's zero-one rule computes it, each raw preference is
  rounded first (an exact 1.5 is a draw, other values round half-to-even), a rounded 0 is a
  draw worth half a win, and rounded values outside 1..2 are dropped; so 2.3 counts as a
  win and 0.4 as a draw here although neither is a preference for `win_rate`.

These reproduce the published AlpacaEval leaderboard from its annotation files (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.stats.intervals import FEW, too_few


def clean_preferences(preferences: Sequence[float | None]) -> tuple[np.ndarray, int]:
    """Valid preferences in [1, 2] (0 read as a draw) and the number of draws."""
    p = np.array([np.nan if v is None else float(v) for v in preferences], dtype=float)
    p = np.where(p == 0.0, 1.5, p)
    draws = int(np.sum(p == 1.5))
    valid = p[(p >= 1.0) & (p <= 2.0)]
    return valid, draws


def head_to_head(preferences: Sequence[float | None]) -> dict[str, float]:
    """AlpacaEval's head-to-head metrics for one model against the baseline."""
    p, draws = clean_preferences(preferences)
    if len(p) == 0:
        raise ValueError("no valid preferences (values must lie in [1, 2])")
    q = p - 1.0
    return {
        "win_rate": float(q.mean() * 100),
        "standard_error": float(q.std(ddof=1) / np.sqrt(len(q)) * 100)
        if len(q) > 1
        else float("nan"),
        "n_wins": int(np.sum(q > 0.5)),
        "n_wins_base": int(np.sum(q < 0.5)),
        "n_draws": draws,
        "n_total": len(q),
        "discrete_win_rate": discrete_win_rate(preferences),
    }


def discrete_win_rate(preferences: Sequence[float | None]) -> float:
    """AlpacaEval's discrete win rate (see the module docstring); NaN without any."""
    raw = np.array([np.nan if v is None else float(v) for v in preferences], dtype=float)
    rounded = np.round(np.where(raw == 1.5, 0.0, raw))  # numpy rounds half to even, as pandas
    rounded = np.where(rounded == 0.0, 1.5, rounded)
    valid = rounded[(rounded >= 1.0) & (rounded <= 2.0)]
    return float((valid - 1.0).mean() * 100) if len(valid) else float("nan")


def paired_difference(
    pref_a: Sequence[float] | np.ndarray,
    pref_b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    unit: str = "prompts",
) -> dict[str, Any]:
    """Is model B better than model A, judged against the same baseline on the same prompts?

    Takes the two models' preferences (in [0, 1], P(model beats baseline)) on shared prompts,
    in the same order. Returns the mean difference B - A (in win-rate points), its paired
    bootstrap 95% CI, the two-sided bootstrap p-value, and the number of prompts a study
    would need to separate the two at the observed difference (alpha 0.05, power 0.8).
    `unit` names the paired items in notes.

    Under `FEW` prompts, or when every difference is the same (the bootstrap then has one
    value: a zero-width interval and p = 1 / n_boot), there is no interval (`ci_low` and
    `ci_high` None), the p-value is the exact two-sided sign test, `n_needed` is None when
    the differences do not vary, and `note` says so. (A distribution-free interval for the
    mean, Wilson's on the rescaled differences, was tried: twelve prompts each lost by half
    a point gave [-82, +6] beside a sign-test p of 0.0005, a contradiction on one line.)
    """
    a, b = np.asarray(pref_a, dtype=float), np.asarray(pref_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("give two equally long sequences of at least two shared prompts")
    d = b - a
    n = len(d)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    boots = d[idx].mean(axis=1)
    mean = float(d.mean())
    # Two-sided p-value: how often the centred bootstrap is as extreme as the observed mean.
    p_value = float((np.abs(boots - mean) >= abs(mean)).mean())
    sd = float(d.std(ddof=1))
    from scipy.stats import binomtest, norm

    need: float | None = (
        None
        if sd == 0
        else float("inf")
        if mean == 0
        else float(np.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) * sd / mean) ** 2))
    )
    out: dict[str, Any] = {
        "difference": mean * 100,
        "ci_low": float(np.quantile(boots, 0.025) * 100),
        "ci_high": float(np.quantile(boots, 0.975) * 100),
        "p_value": max(p_value, 1.0 / n_boot),
        "n": n,
        "n_needed": need,
        "note": None,
    }
    if n < FEW or sd == 0:
        signs = d[d != 0]
        out.update(
            ci_low=None,
            ci_high=None,
            p_value=float(binomtest(int((signs > 0).sum()), len(signs)).pvalue)
            if len(signs)
            else 1.0,
            note=(too_few(n, unit) if n < FEW else f"all {n} differences are equal")
            + ": no interval; p from the exact sign test",
        )
    return out
