"""Bradley-Terry ratings from pairwise battles, with prompt-level bootstrap CIs.

A battle is (prompt, model i, model j, s) with s = P(j beats i) in [0, 1] (a tie is 0.5).
Strengths theta maximise sum s*log sigma(theta_j - theta_i) + (1-s)*log sigma(theta_i - theta_j)
(theta of the first model pinned at 0, and a 1e-6 ridge, a Gaussian prior, that keeps
ratings finite when a model wins every battle); they are fitted by batched Newton steps, so the
bootstrap fits every resample at once. Resampling is by prompt (all battles on a drawn
prompt come along), as prompts, not battles, are the independent units. Elo-scale scores
are 1000 + 400 * log10(e) * (theta - theta_reference).

Ranks come from the bootstrap too, with the reference model ranked like any other (its
rating is 1000 by definition, so its own interval says nothing about where it stands):
model j is ahead of model i when j's rating exceeds i's in at least 97.5% of resamples (a
one-sided paired-bootstrap test of the difference), a model's `rank` is 1 + the number of
models ahead of it (models with none between them share a rank), and `rank_ci_low/high`
are the 2.5% and 97.5% quantiles of its rank over resamples.

A percentile bootstrap over a handful of prompts is no interval: three tied prompts give
every resample the same ratings, [1000, 1000]. Under `FEW` prompts `table` gives no
interval and no rank, with a note; from `FEW` on, a model whose resampled rating never
varies (it tied, or won, every battle) gets no interval (nor one for its rank) but keeps
its rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from harness.stats.intervals import FEW, too_few

RIDGE = 1e-6
ELO_SCALE = 400.0 / np.log(10.0)


@dataclass(frozen=True)
class Ratings:
    """Fitted ratings with bootstrap intervals, ordered as `models`."""

    models: list[str]
    elo: np.ndarray
    """Point estimates on the Elo scale (the reference model sits at 1000)."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank: np.ndarray
    """1 + the number of models ahead of this one in 97.5% of resamples (ties share a rank)."""
    rank_ci_low: np.ndarray
    rank_ci_high: np.ndarray
    """2.5% and 97.5% quantiles of the model's rank over the bootstrap resamples."""
    win_matrix: np.ndarray
    """Predicted P(row model beats column model)."""
    n_bootstrap: int
    n_prompts: int
    reference: str | None

    def table(self) -> list[dict[str, Any]]:
        """Rows sorted by rating; interval and rank None (with a `note`) where the bootstrap
        cannot tell (see the module docstring)."""
        order = np.argsort(-self.elo)
        frozen = bool(np.all(self.ci_low == self.ci_high))  # no rating varies in any resample
        rows = []
        for i in order:
            reference = self.models[i] == self.reference
            row: dict[str, Any] = {
                "model": self.models[i],
                "rating": float(self.elo[i]),
                "ci_low": float(self.ci_low[i]),
                "ci_high": float(self.ci_high[i]),
                "rank": int(self.rank[i]),
                "rank_ci_low": int(self.rank_ci_low[i]),
                "rank_ci_high": int(self.rank_ci_high[i]),
                "reference": reference,
                "note": None,
            }
            if self.n_prompts < FEW:
                row["note"] = too_few(self.n_prompts, "prompts")
                row.update(
                    ci_low=None, ci_high=None, rank=None, rank_ci_low=None, rank_ci_high=None
                )
            elif self.ci_low[i] == self.ci_high[i] and (frozen or not reference):
                # All ties, or all wins (a rating the ridge alone keeps finite): the rank,
                # a comparison across resamples, still stands; its interval, from the same
                # degenerate resamples, does not.
                row["note"] = (
                    f"its rating is the same in every resample of the {self.n_prompts} "
                    "prompts: no interval"
                )
                row.update(ci_low=None, ci_high=None, rank_ci_low=None, rank_ci_high=None)
            rows.append(row)
        return rows


def _pair_counts(
    prompt: np.ndarray, i: np.ndarray, j: np.ndarray, s: np.ndarray, n_prompts: int, n_models: int
) -> np.ndarray:
    """Per-prompt wins matrix, flattened: out[p, a * n + b] = wins of a over b on prompt p."""
    out = np.zeros((n_prompts, n_models * n_models))
    np.add.at(out, (prompt, j * n_models + i), s)
    np.add.at(out, (prompt, i * n_models + j), 1.0 - s)
    return out


def fit_strengths(wins: np.ndarray, iterations: int = 100, tol: float = 1e-9) -> np.ndarray:
    """Maximum-likelihood strengths for a batch of wins matrices (B, n, n) -> (B, n).

    theta_0 is pinned at 0 (the likelihood only sees differences), which keeps every Newton
    system well conditioned.
    """
    b, n, _ = wins.shape
    games = wins + wins.transpose(0, 2, 1)
    won = wins.sum(axis=2)
    theta = np.zeros((b, n))
    for _ in range(iterations):
        p = expit(theta[:, :, None] - theta[:, None, :])  # P(i beats j)
        grad = won - (games * p).sum(axis=2) - RIDGE * theta
        w = games * p * (1.0 - p)
        hess = w - np.eye(n) * (w.sum(axis=2)[:, :, None] + RIDGE)  # negative definite
        step = np.linalg.solve(hess[:, 1:, 1:], grad[:, 1:, None])[:, :, 0]
        theta[:, 1:] -= step
        if np.max(np.abs(step)) < tol:
            break
    return theta


def bradley_terry(
    models: Sequence[str],
    battles: Sequence[tuple[int, int, int, float]],
    *,
    reference: str | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> Ratings:
    """Ratings of `models` from battles (prompt index, i, j, P(j beats i)), with 95% CIs."""
    if n_bootstrap < 1:
        raise ValueError("n_bootstrap must be at least 1")
    arr = np.asarray(battles, dtype=float)
    prompt, i, j, s = arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2].astype(int), arr[:, 3]
    n = len(models)
    _, prompt = np.unique(prompt, return_inverse=True)
    n_prompts = int(prompt.max()) + 1
    per_prompt = _pair_counts(prompt, i, j, s, n_prompts, n)
    ref = list(models).index(reference) if reference is not None else None

    def to_elo(theta: np.ndarray) -> np.ndarray:
        origin = theta[:, [ref]] if ref is not None else theta.mean(axis=1, keepdims=True)
        elo: np.ndarray = 1000.0 + ELO_SCALE * (theta - origin)
        return elo

    full = fit_strengths(per_prompt.sum(axis=0).reshape(1, n, n))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_prompts, np.full(n_prompts, 1.0 / n_prompts), size=n_bootstrap)
    boot_wins = (draws.astype(float) @ per_prompt).reshape(n_bootstrap, n, n)
    boot = to_elo(fit_strengths(boot_wins))
    low, high = np.quantile(boot, [0.025, 0.975], axis=0)
    rank, rank_low, rank_high = bootstrap_ranks(boot)
    elo = to_elo(full)[0]
    win_matrix = expit(full[0][:, None] - full[0][None, :])
    return Ratings(
        list(models), elo, low, high, rank, rank_low, rank_high, win_matrix,
        n_bootstrap, n_prompts, reference,
    )  # fmt: skip


def bootstrap_ranks(boot: np.ndarray, level: float = 0.975) -> tuple[np.ndarray, ...]:
    """From bootstrap ratings (B, n): CI-aware ranks and the 95% interval of each rank."""
    higher = boot[:, None, :] > boot[:, :, None]  # [b, i, j]: j rated above i in resample b
    rank = 1 + (higher.mean(axis=0) >= level).sum(axis=1)  # j ahead of i in 97.5% of them
    ranks = 1 + higher.sum(axis=2)  # (B, n)
    low = np.quantile(ranks, 0.025, axis=0, method="inverted_cdf")
    high = np.quantile(ranks, 0.975, axis=0, method="inverted_cdf")
    return rank, low.astype(int), high.astype(int)
