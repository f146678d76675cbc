"""Agreement between two raters on categorical labels: Cohen's kappa, and kappa with a
bootstrap 95% CI that is withheld, with the reason, wherever it would mislead (one label
throughout, too few items, kappa undefined in many resamples). Used for a judge against
human labels (judges/audit/) and for two members of a judge panel (judges/panel/)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.stats.intervals import FEW, too_few


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa between two label sequences; None (undefined) when chance agreement is
    1, i.e. both raters used one and the same label throughout: 0/0, not 0."""
    labels = sorted(set(a) | set(b))
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pe = sum((list(a).count(k) / n) * (list(b).count(k) / n) for k in labels)
    return None if pe == 1 else (po - pe) / (1 - pe)


def kappa_with_interval(
    judge: Sequence[str],
    human: Sequence[str],
    what: str = "judge verdict (A/B/tie) vs human label",
    names: tuple[str, str] = ("the judge", "humans"),
) -> dict[str, Any]:
    """Cohen's kappa with a bootstrap 95% CI, or the reason there is none: undefined when
    one label is used throughout, too few pairs under `FEW`, and no interval when kappa is
    undefined in more than 5% of the resamples (a percentile over the rest would mislead).
    `what` and `names` say what is compared (a judge and humans, or two panel members)."""
    n = len(judge)
    first, second = names
    if n == 0:
        return {"measure": "cohen_kappa", "value": None, "ci_low": None, "ci_high": None,
                "n": 0, "note": too_few(0, "pairs")}  # fmt: skip
    kappa = cohen_kappa(judge, human)
    found: dict[str, Any] = {
        "measure": "cohen_kappa",
        "value": kappa,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "note": f"{what}; 95% CI by bootstrap",
    }
    if kappa is None:
        found["note"] = (
            f"undefined: {first} and {second} gave one and the same label to all {n} pairs "
            "(chance agreement is 1)"
        )
    elif len(set(judge)) == 1:
        # A rater with one label agrees exactly as often as chance predicts, whatever the
        # other said: kappa is 0 in every resample, and [0, 0] would be no interval.
        found["one_label"] = judge[0]
        found["note"] = (
            f"{first} gave one label ({judge[0]}) to all {n} pairs: kappa is 0 whatever "
            f"{second} said; no interval"
        )
    elif n < FEW:
        found["note"] = too_few(n, "pairs")
    else:
        rng = np.random.default_rng(0)
        draws = [rng.integers(0, n, n) for _ in range(1000)]
        boots = [cohen_kappa([judge[i] for i in d], [human[i] for i in d]) for d in draws]
        defined = [k for k in boots if k is not None]
        if len(defined) < 0.95 * len(boots):
            found["note"] = (
                f"kappa is undefined in {len(boots) - len(defined)} of {len(boots)} "
                "resamples (nearly one label throughout): no interval"
            )
        else:
            low, high = np.quantile(defined, [0.025, 0.975])
            if low < high:
                found.update(ci_low=float(low), ci_high=float(high))
            else:
                found["note"] = f"kappa is {kappa:.2f} in every resample: no interval"
    return found
