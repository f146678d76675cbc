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
baseline (weight 0.2 in all), which are not public. Those rows are the same for every model
and carry no intercept, so their pull on (phi, gamma) is one fixed penalty; here it is a
`Prior`: Gaussian penalties on phi and gamma, with strengths `PHI_PRIOR`, `GAMMA_PRIOR`.
For the shipped AlpacaEval vector its two means are calibrated on the published LC of the
shared models (`tools/alpaca_eval_difficulty.py`, validated leaving each model out of the
calibration; docs/winrate.md); for a joint fit elsewhere (`harness compare`) phi is pulled
toward the population length slope and gamma toward 1.

Per-model fits use soft labels (cross-entropy) and damped Newton (`fit_many`, many models
at once). `standard_error` is the delta-method (sandwich) standard error of the LC
estimate with instructions as the sampling unit, as AlpacaEval's `standard_error` of the
raw win rate treats them: the uncertainty of the fit and of averaging over a sample of
instructions.
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
"""Default penalty PHI_PRIOR * (phi - phi_mean)^2 on a model's length slope."""
GAMMA_PRIOR = 30.0
"""Default penalty GAMMA_PRIOR * (gamma - gamma_mean)^2 on a model's difficulty coefficient."""


@dataclass(frozen=True)
class Prior:
    """Gaussian penalties `strength * (x - mean)^2` on a model's length slope (phi) and its
    difficulty coefficient (gamma), in place of AlpacaEval's gamed-baseline rows."""

    phi_mean: float
    phi_strength: float = PHI_PRIOR
    gamma_mean: float = 1.0
    gamma_strength: float = GAMMA_PRIOR

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Means and strengths over (theta, phi, gamma); theta is not penalised."""
        return (
            np.array([0.0, self.phi_mean, self.gamma_mean]),
            np.array([0.0, self.phi_strength, self.gamma_strength]),
        )


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
    """An instruction-difficulty vector and the per-model prior used with it."""

    values: Mapping[str, float]
    prior: Prior
    source: str
    """Where it comes from, as reports state it."""
    annotator: str | None = None
    """The judge whose annotations it was fitted on, when fitted elsewhere: LC of another
    judge's annotations on it deserves a warning."""


@dataclass(frozen=True)
class LengthControlled:
    """One model's LC win rate and its fit."""

    winrate: float
    standard_error: float | None
    """Delta-method standard error; None when every preference is the same (all wins, all
    ties): the residuals are then all zero and so would be the standard error."""
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

    The prior pulls phi toward the population length slope, the median of the models' phi_m."""
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
    # Tight tolerances: scipy's default relative-loss stop leaves difficulties ~0.01 from the
    # optimum (gradient ~0.01 on a loss ~1e4), which would make the vector depend on the
    # library version; these reach ~1e-5 in about twice the time (0.5 s over 32 models).
    options = {"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-7}
    w = minimize(objective, start, jac=True, method="L-BFGS-B", options=options).x
    d = w[2 * n_m :]
    return Difficulty(
        values=dict(zip(instructions, (d - d.mean()).tolist(), strict=True)),
        prior=Prior(phi_mean=float(np.median(w[n_m : 2 * n_m]))),
        source=source or f"joint fit over {n_m} models",
    )


def _penalised_loss(
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    w: np.ndarray,
    mean: np.ndarray,
    strength: np.ndarray,
) -> np.ndarray:
    """Each model's cross-entropy (summed over its rows) plus the prior's penalty."""
    logit = np.einsum("mnk,mk->mn", x, w)
    data = (_cross_entropy(logit, y) * mask).sum(axis=1)
    total: np.ndarray = data + (strength * (w - mean) ** 2).sum(axis=1)
    return total


def fit_many(x: np.ndarray, y: np.ndarray, mask: np.ndarray, given: Prior) -> np.ndarray:
    """MAP (theta, phi, gamma) of many models at once under one prior, by damped Newton.

    `x` is (models, rows, 3): a column of ones, tanh(z) and the difficulty; `y` the soft
    labels and `mask` 1 for real rows, 0 for padding (models with fewer rows), both
    (models, rows). The loss is convex and three-dimensional, so Newton's method with
    step halving reaches the optimum to machine precision in a handful of steps, for all
    models together: what makes calibrating the prior (thousands of fits) take seconds."""
    mean, strength = given.vectors()
    # A vanishing ridge on theta keeps the Hessian invertible when every label is 0 or 1.
    ridge = np.diag(2 * strength + 1e-9)
    w = np.tile(mean, (x.shape[0], 1))
    loss = _penalised_loss(x, y, mask, w, mean, strength)
    for _ in range(100):
        p = expit(np.einsum("mnk,mk->mn", x, w))
        grad = np.einsum("mnk,mn->mk", x, (p - y) * mask) + 2 * strength * (w - mean)
        hessian = np.einsum("mnk,mnl,mn->mkl", x, x, p * (1 - p) * mask) + ridge
        step = np.linalg.solve(hessian, grad[:, :, None])[:, :, 0]
        scale = np.ones(len(w))
        for _ in range(60):
            trial = w - scale[:, None] * step
            new = _penalised_loss(x, y, mask, trial, mean, strength)
            worse = new > loss + 1e-12 * np.abs(loss)
            if not worse.any():
                break
            scale[worse] /= 2
        w, loss = trial, new
        if np.abs(scale[:, None] * step).max() < 1e-10:
            break
    return w


def _fit(x: np.ndarray, y: np.ndarray, given: Prior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAP (theta, phi, gamma) of one model (`x` its rows of 1, tanh(z), d) under the prior,
    the inverse Hessian of the penalised loss, and each row's score (gradient of its loss)."""
    w = fit_many(x[None], y[None], np.ones((1, len(y))), given)[0]
    _, strength = given.vectors()
    p = expit(x @ w)
    hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(2 * strength)
    return w, np.linalg.pinv(hessian), x * (p - y)[:, None]


def design(
    models: Sequence[Sequence[Annotation]], difficulty: Difficulty
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`fit_many`'s inputs for several models: (x, y, mask), padded to the longest model
    (computed once when many priors are tried on the same models)."""
    n = max(len(rows) for rows in models)
    x = np.zeros((len(models), n, 3))
    y = np.zeros((len(models), n))
    mask = np.zeros((len(models), n))
    for k, rows in enumerate(models):
        z, labels = _features(rows)
        x[k, : len(rows), 0] = 1.0
        x[k, : len(rows), 1] = z
        x[k, : len(rows), 2] = [difficulty.values.get(r.instruction, 0.0) for r in rows]
        y[k, : len(rows)] = labels
        mask[k, : len(rows)] = 1.0
    return x, y, mask


def lc_winrates(x: np.ndarray, y: np.ndarray, mask: np.ndarray, prior: Prior) -> np.ndarray:
    """LC win rates (percent) of the models in `design`'s arrays, without standard errors:
    the quantity the prior's calibration searches over."""
    w = fit_many(x, y, mask, prior)
    at_zero = expit(w[:, :1] + w[:, 2:3] * x[:, :, 2])
    lc: np.ndarray = (at_zero * mask).sum(axis=1) / mask.sum(axis=1) * 100
    return lc


def model_lc(rows: Sequence[Annotation], difficulty: Difficulty) -> LengthControlled:
    """One model's length-controlled win rate (percent), fitted alone on a fixed difficulty."""
    if not rows:
        raise ValueError("no annotations to fit")
    xs, ys, _ = design([rows], difficulty)
    x, y, d = xs[0], ys[0], xs[0, :, 2]
    missing = sum(r.instruction not in difficulty.values for r in rows) if difficulty.values else 0
    w, inverse_hessian, scores = _fit(x, y, difficulty.prior)
    at_zero = expit(w[0] + w[2] * d)
    slope = at_zero * (1 - at_zero)
    grad = np.array([slope.mean(), 0.0, (slope * d).mean()])
    # Influence of each instruction on LC: through the average over instructions and
    # through the fitted parameters (w - w_hat ~ -H^-1 * score); the variance of their sum.
    influence = (at_zero - at_zero.mean()) / len(rows) - scores @ inverse_hessian @ grad
    return LengthControlled(
        winrate=float(at_zero.mean() * 100),
        standard_error=None if np.ptp(y) == 0 else float(np.sqrt((influence**2).sum()) * 100),
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
            difficulty = Difficulty(
                {}, Prior(phi_mean=0.0), "none (one model: no difficulty term, length prior 0)"
            )
    return {m: model_lc(rows, difficulty) for m, rows in models.items()}, difficulty


def is_extreme_change(raw: float, lc: float, abs_diff: float = 10, rel_diff: float = 4) -> bool:
    """AlpacaEval's warning rule: LC moved more than max(abs_diff, a 1/rel_diff share of the
    room) from the raw win rate (both in percent), a sign the fit may have failed."""
    too_small = lc < min(raw - raw / rel_diff, raw - abs_diff)
    too_large = lc > max(raw + (100 - raw) / rel_diff, raw + abs_diff)
    return too_small or too_large
