"""Per-user adapters judged by every persona: the matrix and the own-user test against
direct computations."""

import numpy as np
import pytest

from harness.stats.intervals import share_interval
from harness.stats.winrate import paired_difference
from judges.personas.adapter_fit import adapter_fit


def test_each_adapter_against_the_others_under_its_own_persona() -> None:
    rng = np.random.default_rng(0)
    n = 40
    concise_short = list(rng.uniform(0.6, 1.0, n))  # the concise adapter, concise judge
    prefs = {
        "concise": {"concise": concise_short, "thorough": list(rng.uniform(0.0, 0.4, n))},
        "thorough": {"concise": list(rng.uniform(0.0, 0.5, n)), "thorough": list(rng.uniform(0.4, 0.7, n))},
        "sft": {"concise": [0.5] * n, "thorough": [0.5] * n},
    }  # fmt: skip
    prefs["thorough"]["thorough"][3] = None  # a pair without a verdict
    fit = adapter_fit(prefs)
    assert fit is not None and fit["adapters"] == ["concise", "thorough"]
    cell = fit["matrix"]["concise"]["concise"]
    low, high = share_interval(concise_short)
    assert cell["value"] == pytest.approx(np.mean(concise_short)) and cell["n"] == n
    assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((low, high))
    assert fit["matrix"]["thorough"]["thorough"]["n"] == n - 1
    own = {o["adapter"]: o for o in fit["own"]}
    d = own["concise"]["minus_other_adapters"]["thorough"]
    direct = paired_difference(prefs["thorough"]["concise"], concise_short)
    assert d["difference"] == pytest.approx(direct["difference"]) and d["ci_low"] > 0
    assert own["concise"]["wins_for_its_user"]
    t = own["thorough"]["minus_other_adapters"]["concise"]
    assert t["n"] == n - 1  # paired on the prompts both have
    assert own["thorough"]["wins_for_its_user"] == (t["ci_low"] > 0)


def test_no_adapter_named_after_a_persona_means_no_table() -> None:
    assert adapter_fit({"sft": {"concise": [0.5, 0.6]}}) is None


def test_an_adapter_no_better_than_another_does_not_win() -> None:
    same = [0.5, 0.6, 0.4, 0.7, 0.3] * 4
    fit = adapter_fit({"a": {"a": same, "b": same}, "b": {"a": same, "b": same}})
    assert fit is not None and not any(o["wins_for_its_user"] for o in fit["own"])
