"""Regenerate the shipped AlpacaEval instruction-difficulty vector and its provenance.

    python tools/alpaca_eval_difficulty.py [--data ../shared/data/alpaca_eval] [--check]

Fits `harness.stats.length_control.joint_difficulty` over every annotation file in
`DATA/annotations/`, then calibrates the per-model `Prior` (the stand-in for AlpacaEval's
unpublished gamed-baseline rows: the means of the penalties on phi and gamma) so that LC
matches the published figures of those models, and writes
`suites/builtin/alpaca_eval_difficulty.{csv,json}`. The JSON records the models, the
annotator, the fit, the prior, the date and a leave-one-model-out validation against the
published leaderboard: for each model, the difficulty is refitted and the prior
recalibrated without it, and its LC is computed alone, so none of the validation figures is
in-sample. `--check` prints the validation without writing anything (about 50 s on 2 cores).
The method and the variants it was chosen from: docs/winrate.md.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import spearmanr

from harness.jobs.winrate import annotations_by_model, read_annotations
from harness.stats.length_control import (
    DIFFICULTY_PENALTY,
    GAMMA_PRIOR,
    PHI_PRIOR,
    Annotation,
    Difficulty,
    Prior,
    design,
    joint_difficulty,
    lc_winrates,
    model_lc,
)
from suites.alpaca_eval_difficulty import FILE, PROVENANCE, instruction_key

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = ROOT / "suites" / "builtin"


def _published(data: Path) -> dict[str, float]:
    with (data / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv").open() as f:
        return {r[""]: float(r["length_controlled_winrate"]) for r in csv.DictReader(f)}


def _bootstrap_mae(errors: np.ndarray, n_boot: int = 10_000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    means = np.abs(errors)[rng.integers(0, len(errors), (n_boot, len(errors)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _prior(means: np.ndarray) -> Prior:
    return Prior(float(means[0]), PHI_PRIOR, float(means[1]), GAMMA_PRIOR)


def calibrate(
    models: dict[str, list[Annotation]], published: dict[str, float], difficulty: Difficulty
) -> Prior:
    """The prior whose LC is nearest the published figures: its two means (phi's and
    gamma's) minimise the root mean square error, searched by Nelder-Mead from the joint
    fit's default (phi toward the population slope, gamma toward 1); the strengths stay at
    the defaults. Of six variants compared in the nested leave-one-model-out (MAE, RMSE or
    Huber loss; two means or means and strengths), this had the smallest worst case among
    those keeping Spearman >= 0.98 (docs/winrate.md has the figures)."""
    names = sorted(models)
    x, y, mask = design([models[m] for m in names], difficulty)
    target = np.array([published[m] for m in names])

    def loss(means: np.ndarray) -> float:
        return float(np.sqrt(((lc_winrates(x, y, mask, _prior(means)) - target) ** 2).mean()))

    start = np.array([difficulty.prior.phi_mean, difficulty.prior.gamma_mean])
    options = {"maxiter": 400, "xatol": 1e-3, "fatol": 1e-4}
    return _prior(minimize(loss, start, method="Nelder-Mead", options=options).x)


def calibrated(
    models: dict[str, list[Annotation]], published: dict[str, float]
) -> tuple[Difficulty, float]:
    """Difficulty fitted jointly over `models` with the prior calibrated on them, and the
    joint fit's population length slope (the uncalibrated default's mean)."""
    fit = joint_difficulty(models)
    prior = calibrate(models, published, fit)
    return Difficulty(fit.values, prior, fit.source), fit.prior.phi_mean


def validate(models: dict, published: dict[str, float]) -> dict:
    """Leave one model out: difficulty and prior from the others, LC of the one alone."""
    rows = {}
    for name in sorted(models):
        fold, _ = calibrated({m: a for m, a in models.items() if m != name}, published)
        lc = model_lc(models[name], fold).winrate
        rows[name] = {
            "lc": round(lc, 4),
            "published": round(published[name], 4),
            "prior": dataclasses.asdict(fold.prior),
        }
        print(f"{name}: {lc:.2f} (published {published[name]:.2f})", flush=True)
    names = sorted(rows)
    ours = np.array([rows[m]["lc"] for m in names])
    theirs = np.array([rows[m]["published"] for m in names])
    err = ours - theirs
    low, high = _bootstrap_mae(err)
    return {
        "method": (
            "leave one model out: difficulty refitted and prior recalibrated on the other "
            "models, LC fitted alone"
        ),
        "n_models": len(names),
        "mae": round(float(np.abs(err).mean()), 3),
        "mae_ci95": [round(low, 3), round(high, 3)],
        "max_abs_error": round(float(np.abs(err).max()), 3),
        "worst_model": names[int(np.abs(err).argmax())],
        "spearman": round(float(spearmanr(ours, theirs).statistic), 4),
        "models": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/alpaca_eval")
    parser.add_argument("--check", action="store_true", help="validate only; write nothing")
    args = parser.parse_args()
    files = sorted((args.data / "annotations").glob("*.json*"))
    raw = read_annotations(files)
    models = annotations_by_model(raw)
    order = next(rows for rows in raw.values() if len(rows) == 805)
    published = _published(args.data)
    fit, phi_population = calibrated(models, published)
    validation = validate(models, published)
    print(json.dumps({k: v for k, v in validation.items() if k != "models"}, indent=1))
    if args.check:
        return
    (annotator,) = {r["annotator"] for rows in raw.values() for r in rows}
    (baseline,) = {r["generator_1"] for rows in raw.values() for r in rows}
    with (BUILTIN / FILE).open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["index", "key", "difficulty"])
        for index, row in enumerate(order):
            key = instruction_key(row["instruction"])
            out.writerow([index, key, f"{fit.values[key]:.6f}"])
    meta = {
        "what": "instruction difficulty for AlpacaEval 2.0's 805 instructions",
        "fit": (
            "joint soft-label logistic regression logit p_mi = a_m + phi_m tanh(z_mi) + d_i "
            f"(per-model intercept and length slope, L2 penalty {DIFFICULTY_PENALTY} on d), d centred"
        ),
        "prior": {k: round(v, 6) for k, v in dataclasses.asdict(fit.prior).items()},
        "prior_fit": (
            "means of the penalties on phi and gamma (strengths fixed), chosen to minimise the "
            "root mean square error of single-model LC against the published figures of these "
            "models"
        ),
        "phi_population": round(phi_population, 6),
        "annotator": annotator,
        "baseline": baseline,
        "models": sorted(models),
        "source": "AlpacaEval 2.0 annotation files (tatsu-lab/alpaca_eval, data CC-BY-NC-4.0)",
        "script": "tools/alpaca_eval_difficulty.py",
        "date": datetime.date.today().isoformat(),
        "validation": validation,
    }
    (BUILTIN / PROVENANCE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {BUILTIN / FILE} and {BUILTIN / PROVENANCE}")


if __name__ == "__main__":
    main()
