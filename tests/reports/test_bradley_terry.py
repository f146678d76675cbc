"""Bradley-Terry fits checked against closed forms, a generic optimiser, and planted strengths."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from harness.stats.bradley_terry import ELO_SCALE, bradley_terry


def test_two_models_closed_form() -> None:
    battles = [(p, 0, 1, 1.0) for p in range(30)] + [(p, 0, 1, 0.0) for p in range(30, 40)]
    battles += [(40, 0, 1, 0.5)]  # a tie counts half
    r = bradley_terry(["a", "b"], battles, reference="a", n_bootstrap=200)
    share = 30.5 / 41
    # Exact up to the 1e-6 ridge that keeps ratings finite under perfect separation.
    assert r.elo[1] - r.elo[0] == pytest.approx(ELO_SCALE * np.log(share / (1 - share)), abs=1e-3)
    assert r.win_matrix[1, 0] == pytest.approx(share, abs=1e-6)


def test_perfect_separation_stays_finite() -> None:
    battles = [(p, 0, 1, 1.0) for p in range(20)]
    r = bradley_terry(["a", "b"], battles, reference="a", n_bootstrap=20)
    assert np.all(np.isfinite(r.elo)) and r.elo[1] > r.elo[0] + 1000


def test_matches_a_generic_optimiser() -> None:
    rng = np.random.default_rng(1)
    n = 6
    battles = [
        (p, i, j, float(rng.random() < 0.3 + 0.1 * (j - i) / n))
        for p in range(150)
        for i in range(n)
        for j in range(n)
        if i < j and rng.random() < 0.5
    ]
    arr = np.asarray(battles)
    i, j, s = arr[:, 1].astype(int), arr[:, 2].astype(int), arr[:, 3]

    def nll(free: np.ndarray) -> float:
        theta = np.concatenate([[0.0], free])
        d = theta[j] - theta[i]
        return float(-(s * log_expit(d) + (1 - s) * log_expit(-d)).sum())

    ref = np.concatenate(
        [[0.0], minimize(nll, np.zeros(n - 1), method="BFGS", options={"gtol": 1e-8}).x]
    )
    r = bradley_terry([str(k) for k in range(n)], battles, reference="0", n_bootstrap=50)
    assert (r.elo - 1000) / ELO_SCALE == pytest.approx(ref, abs=1e-4)


def test_recovers_planted_strengths_and_ranks_with_ties() -> None:
    rng = np.random.default_rng(2)
    truth = np.array([0.0, 0.05, 1.0, 2.0])
    battles = []
    for p in range(600):
        for i in range(4):
            for j in range(i + 1, 4):
                battles.append((p, i, j, float(rng.random() < expit(truth[j] - truth[i]))))
    r = bradley_terry(["w", "w2", "m", "s"], battles, reference="w", n_bootstrap=1000)
    planted = 1000 + ELO_SCALE * truth
    assert np.all((r.ci_low <= planted) & (planted <= r.ci_high))
    # w and w2 are nearly equal: their CIs overlap, so they share a rank; m and s are separated.
    ranks = {row["model"]: row["rank"] for row in r.table()}
    assert ranks["s"] == 1 and ranks["m"] == 2 and ranks["w"] == ranks["w2"] == 3
    assert r.n_bootstrap == 1000 and r.n_prompts == 600


def test_ranks_count_the_baseline_like_any_model() -> None:
    """A model one Elo point below the baseline on few prompts cannot rank above or below it:
    the ranks come from the paired bootstrap, not from the baseline's zero-width interval."""
    rng = np.random.default_rng(4)
    battles = []
    for p in range(60):
        battles.append((p, 0, 1, float(rng.random() < 0.5)))  # base vs near (equal)
        battles.append((p, 0, 2, float(rng.random() < 0.9)))  # base vs strong
    r = bradley_terry(["base", "near", "strong"], battles, reference="base", n_bootstrap=2000)
    rows = {row["model"]: row for row in r.table()}
    assert rows["base"]["reference"] and not rows["near"]["reference"]
    assert rows["strong"]["rank"] == 1
    assert rows["base"]["rank"] == rows["near"]["rank"] == 2
    assert rows["base"]["rank_ci_low"] <= 2 <= rows["base"]["rank_ci_high"] == 3
    # The rank rules on hand-made resamples, against ranks found by sorting each resample.
    from harness.stats.bradley_terry import bootstrap_ranks

    boot = np.array([[1000.0, 990.0, 1400.0], [1000.0, 1010.0, 1300.0], [1000.0, 995.0, 1350.0]])
    boots = np.repeat(boot, [40, 40, 20], axis=0)
    rank, low, high = bootstrap_ranks(boots)
    by_sorting = np.array([np.argsort(np.argsort(-b)) + 1 for b in boots])
    assert list(low) == [int(np.percentile(c, 2.5, method="inverted_cdf")) for c in by_sorting.T]
    assert list(high) == [int(np.percentile(c, 97.5, method="inverted_cdf")) for c in by_sorting.T]
    assert list(rank) == [2, 2, 1]  # near is ahead of base in 40% of resamples only
