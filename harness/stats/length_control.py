"""Length-controlled win rate (Dubois et al. 2024, "Length-Controlled AlpacaEval").

One model against the baseline, on instruction i, with p_i = P(model wins) and
z_i = (len(baseline_i) - len(model_i)) / sd (characters; sd over the model's instructions):

    logit p_i = theta + phi * tanh(z_i) + gamma * d_i

The LC win rate is 100 * mean_i sigmoid(theta + gamma * d_i): the win rate the fit predicts
when both answers have the same length. Each model is fitted alone, so its LC does not
depend on which other models are reported beside it.

`d` is one fixed instruction-difficulty vector, estimated once by a joint fit over many
models (`joint_difficulty`: each model its own intercept and length slope, each
instruction its own effect, as AlpacaEval's `instruction_difficulty.ipynb` does; here with
a weak L2 penalty on d instead of a cross-validated L1 one).

AlpacaEval regularises each model's fit toward annotations of length-gamed versions of the
baseline (weight 0.2 in all), which are not public. Here the same role is played by
Gaussian priors: phi toward the population length slope of the joint fit and gamma toward
1 (its value in the joint fit), with strengths of the order of the information those 0.2
gamed rows carry (`PHI_PRIOR`, `GAMMA_PRIOR`). Fits use soft labels (cross-entropy) and
L-BFGS. `standard_error` is the delta-method (sandwich) standard error of the LC estimate
with instructions as the sampling unit, as AlpacaEval's `standard_error` of the raw win
rate treats them: the uncertainty of the fit and of averaging over a sample of instructions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

DIFFICULTY_PENALTY = 0.01
"""L2 penalty on the difficulties in the joint fit (a prior of sd ~7 logits: nearly flat)."""
PHI_PRIOR = 10.0
"""Penalty PHI_PRIOR * (phi - phi_population)^2 on a model's length slope."""
GAMMA_PRIOR = 30.0
"""Penalty GAMMA_PRIOR * (gamma - 1)^2 on a model's difficulty coefficient."""


@dataclass(frozen=True)
class Annotation:
    """One judged comparison against the baseline."""

    instruction: str
    """The key the difficulty vector is indexed by."""
    baseline_length: int
    model_length: int
    preference: float
    """P(model wins) in [0, 1]."""


@dataclass(frozen=True)
class Difficulty:
    """An instruction-difficulty vector and the population length slope fitted with it."""

    values: Mapping[str, float]
    phi_population: float
    source: str
    """Where it comes from, as reports state it."""
    annotator: str | None = None
    """The judge whose annotations it was fitted on, when fitted elsewhere: LC of another
    judge's annotations on it deserves a warning."""


@dataclass(frozen=True)
class LengthControlled:
    """One model's LC win rate and its fit."""

    winrate: float
    standard_error: float
    theta: float
    phi: float
    gamma: float
    n: int
    n_missing: int
    """Instructions the difficulty vector does not cover (fitted at the mean difficulty, 0)."""


def _cross_entropy(logit: np.ndarray, y: np.ndarray) -> np.ndarray:
    loss: np.ndarray = -(y * log_expit(logit) + (1 - y) * log_expit(-logit))
    return loss


def _features(rows: Sequence[Annotation]) -> tuple[np.ndarray, np.ndarray]:
    """tanh of the standardised length difference, and the soft labels."""
    delta = np.array([r.baseline_length - r.model_length for r in rows], dtype=float)
    sd = delta.std(ddof=1) if len(delta) > 1 else 0.0
    z = np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)
    y = np.array([r.preference for r in rows], dtype=float)
    return z, y


def joint_difficulty(
    models: Mapping[str, Sequence[Annotation]],
    penalty: float = DIFFICULTY_PENALTY,
    source: str = "",
) -> Difficulty:
    """Difficulties (centred) from `logit p_mi = a_m + phi_m tanh(z_mi) + d_i`, fitted jointly.

    The population length slope is the median of the models' phi_m."""
    instructions = sorted({r.instruction for rows in models.values() for r in rows})
    index = {s: i for i, s in enumerate(instructions)}
    parts = []
    for k, rows in enumerate(models.values()):
        z, y = _features(rows)
        parts.append((np.full(len(y), k), np.array([index[r.instruction] for r in rows]), z, y))
    mi, ii, z, y = (np.concatenate([p[j] for p in parts]) for j in range(4))
    n_m, n_i = len(models), len(instructions)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        a, phi, d = w[:n_m], w[n_m : 2 * n_m], w[2 * n_m :]
        logit = a[mi] + phi[mi] * z + d[ii]
        g = expit(logit) - y
        loss = float(_cross_entropy(logit, y).sum() + penalty * (d**2).sum())
        grad = np.concatenate(
            [np.bincount(mi, g, n_m), np.bincount(mi, g * z, n_m), np.bincount(ii, g, n_i)]
        )
        grad[2 * n_m :] += 2 * penalty * d
        return loss, grad

    start = np.zeros(2 * n_m + n_i)
    w = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000}).x
    d = w[2 * n_m :]
    return Difficulty(
        values=dict(zip(instructions, (d - d.mean()).tolist(), strict=True)),
        phi_population=float(np.median(w[n_m : 2 * n_m])),
        source=source or f"joint fit over {n_m} models",
    )


def _fit(
    z: np.ndarray, d: np.ndarray, y: np.ndarray, phi0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAP (theta, phi, gamma) under the priors, the inverse Hessian of the penalised loss,
    and each row's score (gradient of its loss)."""
    prior_mean = np.array([0.0, phi0, 1.0])
    prior = np.array([0.0, PHI_PRIOR, GAMMA_PRIOR])
    x = np.column_stack([np.ones_like(z), z, d])

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        logit = x @ w
        loss = float(_cross_entropy(logit, y).sum() + (prior * (w - prior_mean) ** 2).sum())
        return loss, x.T @ (expit(logit) - y) + 2 * prior * (w - prior_mean)

    w = minimize(objective, prior_mean, jac=True, method="L-BFGS-B").x
    p = expit(x @ w)
    hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(2 * prior)
    return w, np.linalg.pinv(hessian), x * (p - y)[:, None]


def model_lc(rows: Sequence[Annotation], difficulty: Difficulty) -> LengthControlled:
    """One model's length-controlled win rate (percent), fitted alone on a fixed difficulty."""
    if not rows:
        raise ValueError("no annotations to fit")
    z, y = _features(rows)
    d = np.array([difficulty.values.get(r.instruction, 0.0) for r in rows])
    missing = sum(r.instruction not in difficulty.values for r in rows) if difficulty.values else 0
    w, inverse_hessian, scores = _fit(z, d, y, difficulty.phi_population)
    at_zero = expit(w[0] + w[2] * d)
    slope = at_zero * (1 - at_zero)
    grad = np.array([slope.mean(), 0.0, (slope * d).mean()])
    # Influence of each instruction on LC: through the average over instructions and
    # through the fitted parameters (w - w_hat ~ -H^-1 * score); the variance of their sum.
    influence = (at_zero - at_zero.mean()) / len(rows) - scores @ inverse_hessian @ grad
    return LengthControlled(
        winrate=float(at_zero.mean() * 100),
        standard_error=float(np.sqrt((influence**2).sum()) * 100),
        theta=float(w[0]),
        phi=float(w[1]),
        gamma=float(w[2]),
        n=len(rows),
        n_missing=missing,
    )


def length_controlled_winrates(
    models: Mapping[str, Sequence[Annotation]], difficulty: Difficulty | None = None
) -> tuple[dict[str, LengthControlled], Difficulty]:
    """Every model's LC win rate, each fitted alone, and the difficulty used.

    Without a `difficulty`, it is estimated jointly from the given models (their LC then
    depends on which models are given); from one model alone no difficulty can be told
    apart from the model's own answers, so there is none (d = 0) and the length slope's
    prior is 0, i.e. no length preference is assumed."""
    if difficulty is None:
        if len(models) > 1:
            difficulty = joint_difficulty(
                models, source=f"joint over the {len(models)} models given"
            )
        else:
            difficulty = Difficulty({}, 0.0, "none (one model: no difficulty term, length prior 0)")
    return {m: model_lc(rows, difficulty) for m, rows in models.items()}, difficulty


def is_extreme_change(raw: float, lc: float, abs_diff: float = 10, rel_diff: float = 4) -> bool:
    """AlpacaEval's warning rule: LC moved more than max(abs_diff, a 1/rel_diff share of the
    room) from the raw win rate (both in percent), a sign the fit may have failed."""
    too_small = lc < min(raw - raw / rel_diff, raw - abs_diff)
    too_large = lc > max(raw + (100 - raw) / rel_diff, raw + abs_diff)
    return too_small or too_large
