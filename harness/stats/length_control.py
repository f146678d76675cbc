"""Length-controlled win rate (Dubois et al. 2024, "Length-Controlled AlpacaEval").

For model m and instruction i, with p_mi = P(m beats the baseline) and
z_mi = (len(baseline_i) - len(m_i)) / sd_m (characters; sd over m's instructions):

    logit p_mi = theta_m + phi_m * tanh(z_mi) + gamma_m * d_i

The length-controlled win rate is 100 * mean_i sigmoid(theta_m + gamma_m * d_i): the win
rate predicted when the two answers have the same length.

AlpacaEval takes the instruction difficulties d_i from its own hub files and regularises
with annotations of length-gamed baselines; neither is available offline. Here, when
several models' annotations on the same instructions are given together, the difficulties
and a shared length coefficient are estimated jointly from them (L2-penalised
`logit p_mi = a_m + phi * tanh(z_mi) + d_i`), and each model's phi_m is shrunk toward the
shared phi. With a single model there is no difficulty term and phi_m is shrunk toward a
prior: `ALPACA_EVAL_PHI` (the shared coefficient fitted on the eight AlpacaEval models in
`../shared/data/alpaca_eval`) for annotations by AlpacaEval's GPT-4-turbo judge, and 0
(no length preference assumed) for any other judge. Fits use soft labels (cross-entropy)
and L-BFGS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

DIFFICULTY_PENALTY = 1.0
PHI_SHRINKAGE = 10.0
ALPACA_EVAL_PHI = -2.06
"""Shared length coefficient of weighted_alpaca_eval_gpt4_turbo, fitted on the shared data."""


@dataclass(frozen=True)
class Annotation:
    """One judged comparison against the baseline."""

    instruction: str
    baseline_length: int
    model_length: int
    preference: float
    """P(model wins) in [0, 1]."""


def _cross_entropy(logit: np.ndarray, y: np.ndarray) -> np.ndarray:
    loss: np.ndarray = -(y * log_expit(logit) + (1 - y) * log_expit(-logit))
    return loss


def _features(rows: Sequence[Annotation]) -> tuple[np.ndarray, np.ndarray]:
    delta = np.array([r.baseline_length - r.model_length for r in rows], dtype=float)
    sd = delta.std(ddof=1) if len(delta) > 1 else 0.0
    z = np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)
    y = np.array([r.preference for r in rows], dtype=float)
    return z, y


def joint_difficulty(
    models: Mapping[str, Sequence[Annotation]],
    instructions: Sequence[str],
    penalty: float = DIFFICULTY_PENALTY,
) -> tuple[np.ndarray, float]:
    """Instruction difficulties (centred) and the shared length coefficient, fitted jointly."""
    index = {s: i for i, s in enumerate(instructions)}
    names = list(models)
    m_idx, i_idx, zs, ys = [], [], [], []
    for k, name in enumerate(names):
        z, y = _features(models[name])
        m_idx.append(np.full(len(y), k))
        i_idx.append(np.array([index[r.instruction] for r in models[name]]))
        zs.append(z)
        ys.append(y)
    mi, ii, z, y = (np.concatenate(a) for a in (m_idx, i_idx, zs, ys))
    n_m, n_i = len(names), len(instructions)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        a, phi, d = w[:n_m], w[n_m], w[n_m + 1 :]
        logit = a[mi] + phi * z + d[ii]
        g = expit(logit) - y
        loss = float(_cross_entropy(logit, y).sum() + penalty * (d**2).sum())
        grad = np.concatenate(
            [
                np.bincount(mi, g, n_m),
                [float((g * z).sum())],
                np.bincount(ii, g, n_i) + 2 * penalty * d,
            ]
        )
        return loss, grad

    w = minimize(objective, np.zeros(n_m + 1 + n_i), jac=True, method="L-BFGS-B").x
    d = w[n_m + 1 :]
    return d - d.mean(), float(w[n_m])


def model_lc_winrate(
    rows: Sequence[Annotation],
    difficulty: Mapping[str, float] | None,
    phi_prior: float,
    shrinkage: float = PHI_SHRINKAGE,
) -> float:
    """One model's length-controlled win rate (percent) given difficulties (or none)."""
    z, y = _features(rows)
    d = np.array([difficulty[r.instruction] for r in rows]) if difficulty else np.zeros(len(rows))

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        logit = w[0] + w[1] * z + w[2] * d
        g = expit(logit) - y
        loss = float(_cross_entropy(logit, y).sum() + shrinkage * (w[1] - phi_prior) ** 2)
        grad = np.array(
            [g.sum(), (g * z).sum() + 2 * shrinkage * (w[1] - phi_prior), (g * d).sum()]
        )
        return loss, grad

    w = minimize(objective, np.array([0.0, phi_prior, 1.0]), jac=True, method="L-BFGS-B").x
    all_d = np.array(list(difficulty.values())) if difficulty else np.zeros(1)
    return float(expit(w[0] + w[2] * all_d).mean() * 100)


def length_controlled_winrates(
    models: Mapping[str, Sequence[Annotation]], phi_prior: float = 0.0
) -> dict[str, float]:
    """LC win rate of every model; difficulties are estimated jointly when there are several,
    else each model's length coefficient is shrunk toward `phi_prior`."""
    if len(models) > 1:
        instructions = sorted({r.instruction for rows in models.values() for r in rows})
        d, phi = joint_difficulty(models, instructions)
        difficulty = dict(zip(instructions, d, strict=True))
        return {m: model_lc_winrate(rows, difficulty, phi) for m, rows in models.items()}
    return {m: model_lc_winrate(rows, None, phi_prior) for m, rows in models.items()}
