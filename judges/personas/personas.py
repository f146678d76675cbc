"""Personalised judging: the same pairs judged for several user profiles (personas), win
rates per persona, and how far verdicts move between personas.

A preference judged for "the average user" hides the users it does not fit. Judging each
pair once per persona (a `{persona}` template, position-swapped as always) shows whether a
verdict is a property of the answers or of who reads them:

- per persona: the win rate of model B against model A (AlpacaEval statistics);
- `flip_rate`: the share of prompts whose verdict (A, B or tie) is not the same for every
  persona (Wilson 95% CI);
- `mean_spread`: the mean over prompts of the largest minus the smallest persona
  preference (bootstrap 95% CI);
- `winrate_range`: the largest minus the smallest persona win rate, and whether it is
  more than judge noise: the range of noisy win rates is positive even when personas make
  no difference (five personas without any effect, coin-flip verdicts on 40 prompts: 18.4
  points on average, measured over 200 simulations; excess after calibration +0.1), so it is
  calibrated by a permutation test under the null of no persona effect (each prompt's
  preferences shuffled across personas): `null_mean` is the range expected by chance,
  `excess` the observed range minus it, `p_value` the share of shuffles as wide;
- agreement between every two personas, and of each persona with the persona-free judge
  when its verdicts are given (how often "the average user" verdict is this user's);
- in a judge audit, each persona's agreement with the human labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.core.errors import UserError
from harness.stats.intervals import percentile_or_wilson, wilson_share
from harness.stats.winrate import head_to_head
from judges.llm.verdicts import PairItem, PairResult
from judges.panel.panel import AnyJudge, pairwise

DEFAULT = "default"
"""`--personas default`: the profiles shipped in judges/personas.yaml."""


class Persona(BaseModel):
    """One user profile."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    profile: str = Field(min_length=1)
    """What the judge is told about the user."""


class PersonaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personas: list[Persona] = Field(min_length=2)


def load_personas(source: str | Path) -> list[Persona]:
    """Personas from a YAML file (`personas: [{name, profile}, ...]`) or the shipped set."""
    from harness.core.validation import load_yaml_model

    path = (
        Path(str(resources.files("judges.personas") / "personas.yaml"))
        if str(source) == DEFAULT
        else Path(source)
    )
    personas = load_yaml_model(path, PersonaFile).personas
    names = [p.name for p in personas]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: persona names must be unique ({', '.join(names)})")
    return personas


def judge_for_personas(
    judge: AnyJudge,
    items: Sequence[PairItem],
    personas: Sequence[Persona],
    on_done: Callable[[int], None] | None = None,
) -> dict[str, list[PairResult]]:
    """Every item judged (both orders) once per persona, in one batch of requests."""
    if "{persona}" not in judge.template.system + judge.template.user:
        raise UserError(
            f"judge template '{judge.template.name}' has no {{persona}} placeholder "
            "(use pairwise-persona-v1 or a template of your own with one)"
        )
    flat = [
        PairItem(
            f"{p.name}|{it.id}",
            it.prompt,
            it.response_a,
            it.response_b,
            it.reference,
            persona=p.profile,
        )
        for p in personas
        for it in items
    ]
    results = pairwise(judge, flat, on_done=on_done)
    n = len(items)
    return {p.name: results[i * n : (i + 1) * n] for i, p in enumerate(personas)}


def agreement_with_humans(
    by_persona: Mapping[str, Sequence[PairResult]], humans: Sequence[str | None]
) -> dict[str, dict[str, Any]]:
    """Per persona: the share of human-labelled pairs (human 'A' or 'B') whose persona
    verdict is the human's (a tie or no verdict counts as a miss), Wilson 95% CI."""
    out = {}
    labelled = [i for i, h in enumerate(humans) if h in ("A", "B")]
    for name, results in by_persona.items():
        if not labelled:
            continue
        same = sum(results[i].verdict == humans[i] for i in labelled)
        out[name] = wilson_share(same, len(labelled))
    return out


def _head_to_head(prefs: Sequence[float | None]) -> dict[str, Any]:
    """AlpacaEval's statistics (which read preferences on its 1-2 scale); no win rate when
    every judgment failed."""
    valid = [1.0 + p for p in prefs if p is not None]
    if not valid:
        return {"win_rate": None, "standard_error": None, "n_total": 0}
    return head_to_head(valid)


def _verdict(pref: np.ndarray) -> np.ndarray:
    return np.sign(pref - 0.5)


def winrate_range(
    m: np.ndarray, names: Sequence[str], *, n_perm: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Largest minus smallest persona win rate (points) from preferences `m` (personas x
    prompts), with its permutation null (see the module docstring)."""
    rates = m.mean(axis=1) * 100
    observed = float(rates.max() - rates.min())
    rng = np.random.default_rng(seed)
    # Shuffle each prompt's column across personas, n_perm times at once.
    order = rng.random((n_perm, *m.shape)).argsort(axis=1)
    shuffled = np.take_along_axis(np.broadcast_to(m, (n_perm, *m.shape)), order, axis=1)
    null_rates = shuffled.mean(axis=2) * 100
    null = null_rates.max(axis=1) - null_rates.min(axis=1)
    null_mean = float(null.mean())
    return {
        "value": observed,
        "null_mean": null_mean,
        "excess": observed - null_mean,
        "p_value": float((1 + np.sum(null >= observed - 1e-9)) / (1 + n_perm)),
        "n": int(m.shape[1]),
        "n_permutations": n_perm,
        "highest": names[int(rates.argmax())],
        "lowest": names[int(rates.argmin())],
    }


def persona_statistics(
    by_persona: dict[str, Sequence[float | None]],
    general: Sequence[float | None] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The measures in the module docstring from per-persona preferences P(B beats A) on
    the same prompts (None where a judgment failed); `general`: the persona-free judge's."""
    names = list(by_persona)
    per_persona = {name: _head_to_head(prefs) for name, prefs in by_persona.items()}
    matrix = np.array(
        [[np.nan if v is None else float(v) for v in by_persona[name]] for name in names]
    )
    complete = ~np.isnan(matrix).any(axis=0)
    m = matrix[:, complete]
    n = int(m.shape[1])
    out: dict[str, Any] = {"personas": names, "per_persona": per_persona, "n_complete": n}
    if n == 0:
        return out
    verdicts = _verdict(m)
    flips = (verdicts != verdicts[0]).any(axis=0)
    out["flip_rate"] = wilson_share(int(flips.sum()), n)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    spread = m.max(axis=0) - m.min(axis=0)
    # All 0 when the personas agree: then Wilson's for a mean of values in [0, 1].
    low, high = percentile_or_wilson(spread[idx].mean(axis=1), float(spread.mean()), n)
    out["mean_spread"] = {"value": float(spread.mean()), "ci_low": low, "ci_high": high, "n": n}
    out["winrate_range"] = winrate_range(m, names, n_perm=n_boot, seed=seed)
    out["agreement"] = {
        a: {b: float((verdicts[i] == verdicts[j]).mean()) for j, b in enumerate(names)}
        for i, a in enumerate(names)
    }
    if general is not None:
        g = np.array([np.nan if v is None else float(v) for v in general])[complete]
        ok = ~np.isnan(g)
        if ok.any():
            gv = _verdict(g[ok])
            out["agreement_with_general"] = {
                name: wilson_share(int((verdicts[i][ok] == gv).sum()), int(ok.sum()))
                for i, name in enumerate(names)
            }
    return out
