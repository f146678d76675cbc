"""Has a judge changed? A canary's verdicts judged again, against what the judge's own
repeat consistency at pinning time predicts.

At pinning, every canary pair was judged twice (V1, V2); a check judges it once more (V3).
For an unchanged judge, V2 and V3 are two draws of the same verdict distribution, so for
each pair "V2 agrees with V1" and "V3 agrees with V1" are exchangeable: among the pairs where
exactly one of them agrees, each is equally likely to be the one. A changed judge makes V3
disagree more. The test is McNemar's exact one: b = pairs where the repeat agreed and the
check did not, c = the reverse, p = P(X >= b) for X ~ Binomial(b + c, 1/2). Its false-alarm
rate is at most `alpha` whatever each pair's own verdict probabilities are (the shared V1
is accounted for by pairing), which tests/harness/test_drift.py checks by simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.stats.intervals import FEW, wilson_interval

ALPHA = 0.05
"""Default false-alarm rate of a drift check."""


def _share(agree: Sequence[bool]) -> dict[str, Any]:
    k, n = sum(agree), len(agree)
    low, high = wilson_interval(k, n)
    return {"value": k / n, "ci_low": low, "ci_high": high, "n": n}


def drift_test(
    repeat_agrees: Sequence[bool], check_agrees: Sequence[bool], alpha: float = ALPHA
) -> dict[str, Any]:
    """One flag per canary pair with a verdict in all three judgings: did the pinning's
    repeat agree with the pinned verdict, did the check. Returns both agreement rates with
    Wilson intervals, the discordant counts, the one-sided exact p-value, the status
    (`unchanged`, `drift`, or `inconclusive` under FEW pairs) and a plain sentence."""
    from scipy.stats import binomtest

    if len(repeat_agrees) != len(check_agrees):
        raise ValueError("one repeat flag and one check flag per pair")
    n = len(check_agrees)
    if n < FEW:
        return {
            "status": "inconclusive",
            "n": n,
            "verdict": f"inconclusive (n = {n} pairs with verdicts: too few to tell; at least "
            f"{FEW} needed)",
        }
    b = sum(r and not c for r, c in zip(repeat_agrees, check_agrees, strict=True))
    c = sum(c and not r for r, c in zip(repeat_agrees, check_agrees, strict=True))
    p = float(binomtest(b, b + c, 0.5, alternative="greater").pvalue) if b + c else 1.0
    repeat, check = _share(repeat_agrees), _share(check_agrees)
    drifted = p < alpha
    said = (
        f"agreement with the pinned verdicts {100 * check['value']:.0f}% "
        f"[{100 * check['ci_low']:.0f}, {100 * check['ci_high']:.0f}] vs "
        f"{100 * repeat['value']:.0f}% expected from the judge's own repeat at pinning; "
        f"McNemar exact p = {p:.3g}, n = {n}"
    )
    return {
        "status": "drift" if drifted else "unchanged",
        "n": n,
        "repeat_agreement": repeat,
        "check_agreement": check,
        "discordant": {"repeat_only": b, "check_only": c},
        "p_value": p,
        "alpha": alpha,
        "verdict": (
            f"judge drift detected ({said})"
            if drifted
            else f"judge unchanged: no drift detected ({said})"
        ),
    }
