"""Per-user adapters judged by every user: does each user's adapter win under its own
user's judge?

With one adapter per persona (`harness train dpo --lora --personas`) compared against the
base under every persona (`harness compare --adapter NAME=DIR --personas FILE`), a model
whose label is a persona's name is that persona's adapter. Reported:

- `matrix`: every model's win rate against the baseline under every persona (share of
  preferences, Wilson 95% CI on the summed preferences, n);
- `own`: for each persona's adapter, under its own persona's judge, its preference minus
  each other adapter's on the same prompts (points, paired bootstrap 95% CI); it "wins for
  its user" when every such difference is above 0 with its CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.stats.intervals import FEW, preference_share, too_few
from harness.stats.winrate import paired_difference


def adapter_fit(
    prefs: Mapping[str, Mapping[str, Sequence[float | None]]],
) -> dict[str, Any] | None:
    """From `prefs[model][persona]` (P(model beats the baseline) per prompt, same prompts
    everywhere; None: no verdict), the matrix and each persona adapter's own-user test;
    None when no model is named after a persona."""
    personas = list(next(iter(prefs.values()))) if prefs else []
    adapters = [m for m in prefs if m in personas]
    if not adapters:
        return None
    matrix = {m: {p: preference_share(prefs[m][p]) for p in personas} for m in prefs}
    own = []
    for m in adapters:
        mine = prefs[m][m]
        versus: dict[str, dict[str, Any]] = {}
        for other in adapters:
            if other == m:
                continue
            theirs = prefs[other][m]
            both = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True))
                    if a is not None and b is not None]  # fmt: skip
            if len(both) < 2:
                versus[other] = {
                    "difference": None,
                    "n": len(both),
                    "note": too_few(len(both), "prompts"),
                }
                continue
            versus[other] = paired_difference(
                [float(theirs[i]) for i in both],  # type: ignore[arg-type]
                [float(mine[i]) for i in both],  # type: ignore[arg-type]
            )
        wins = bool(versus) and all(
            d.get("ci_low") is not None and d["ci_low"] > 0 for d in versus.values()
        )
        n = min((d["n"] for d in versus.values()), default=0)
        own.append(
            {
                "adapter": m,
                "persona": m,
                "win_rate": matrix[m][m],
                "minus_other_adapters": versus,
                "wins_for_its_user": wins,
                "note": too_few(n, "prompts") if n < FEW else None,
            }
        )
    return {"personas": personas, "adapters": adapters, "matrix": matrix, "own": own}
