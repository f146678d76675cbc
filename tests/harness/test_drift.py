"""The drift check's false-alarm rate stays under its stated level for unchanged judges of
any consistency (simulated), it catches judges that flip a share of verdicts, and small
canaries are inconclusive."""

import numpy as np
import pytest

from harness.stats.drift import ALPHA, drift_test


def simulate(rng: np.random.Generator, n: int, flip: float, concentration: float) -> dict:
    """One canary of `n` pairs: each pair's verdict probabilities over A/B/tie drawn from a
    Dirichlet (small concentration: mostly confident pairs; large: coin flips); V1, V2 at
    pinning and V3 at the check are independent draws, and a changed judge swaps A and B
    in a share `flip` of its check verdicts."""
    probs = rng.dirichlet([concentration] * 3, size=n)
    draws = np.array([[rng.choice(3, p=p) for _ in range(3)] for p in probs])
    v1, v2, v3 = draws.T
    flipped = (rng.random(n) < flip) & (v3 < 2)
    v3 = np.where(flipped, 1 - v3, v3)
    return drift_test(list(v2 == v1), list(v3 == v1))


@pytest.mark.parametrize("concentration", [0.2, 1.0, 5.0])
def test_false_alarm_rate_is_under_alpha_for_an_unchanged_judge(concentration: float) -> None:
    rng = np.random.default_rng(7)
    runs = 1500
    alarms = sum(simulate(rng, 50, 0.0, concentration)["status"] == "drift" for _ in range(runs))
    # Under alpha, with three standard errors of Monte Carlo slack.
    assert alarms / runs <= ALPHA + 3 * (ALPHA * (1 - ALPHA) / runs) ** 0.5


def test_a_consistent_judge_that_flips_verdicts_is_caught() -> None:
    """A near-deterministic judge (a temperature-0 API judge) that flips 30% of its A/B
    verdicts, on the default 50 pairs; the power at other sizes is in docs/judges.md."""
    rng = np.random.default_rng(11)
    runs = 300
    caught = sum(simulate(rng, 50, 0.3, 0.02)["status"] == "drift" for _ in range(runs))
    assert caught / runs > 0.8  # measured 0.92


def test_an_exact_count_and_small_canaries() -> None:
    # 20 pairs: the repeat agreed on all, the check on 14: b = 6, c = 0, p = 2^-6.
    found = drift_test([True] * 20, [True] * 14 + [False] * 6)
    assert found["discordant"] == {"repeat_only": 6, "check_only": 0}
    assert found["p_value"] == pytest.approx(0.5**6) and found["status"] == "drift"
    assert found["verdict"].startswith(
        "judge drift detected (agreement with the pinned verdicts 70%"
    )
    calm = drift_test([True] * 20, [True] * 20)
    assert calm["status"] == "unchanged" and calm["p_value"] == 1.0
    small = drift_test([True] * 6, [False] * 6)
    assert small["status"] == "inconclusive" and "too few to tell" in small["verdict"]
