"""Bradley-Terry bootstrap speed: 50 models x 805 prompts, all pairs, 1,000 resamples.

    .venv/bin/python benchmarks/bootstrap.py

Simulates battles from planted strengths, then times `harness.stats.bradley_terry.bradley_terry`
(batched Newton fits of every resample at once) against a baseline measured in the same
run: the same fit done resample by resample in a Python loop, timed on 20 resamples and
scaled to 1,000. Also prints how many planted strengths fall inside their 95% CI.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import expit

from harness.stats.bradley_terry import ELO_SCALE, _pair_counts, bradley_terry, fit_strengths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=50)
    ap.add_argument("--prompts", type=int, default=805)
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, args.models)
    pairs = [(a, b) for a in range(args.models) for b in range(a + 1, args.models)]
    battles = []
    for p in range(args.prompts):
        for a, b in pairs:
            battles.append((p, a, b, float(rng.random() < expit(truth[b] - truth[a]))))
    names = [f"m{k}" for k in range(args.models)]
    print(
        f"{args.models} models, {args.prompts} prompts, {len(battles)} battles, {args.bootstrap} resamples"
    )

    start = time.perf_counter()
    ratings = bradley_terry(names, battles, reference="m0", n_bootstrap=args.bootstrap)
    vectorised = time.perf_counter() - start
    print(f"harness (batched):        {vectorised:6.2f} s")

    arr = np.asarray(battles)
    per_prompt = _pair_counts(
        arr[:, 0].astype(int),
        arr[:, 1].astype(int),
        arr[:, 2].astype(int),
        arr[:, 3],
        args.prompts,
        args.models,
    )
    k = 20
    start = time.perf_counter()
    for _ in range(k):
        idx = rng.integers(0, args.prompts, args.prompts)
        fit_strengths(per_prompt[idx].sum(axis=0).reshape(1, args.models, args.models))
    looped = (time.perf_counter() - start) / k * args.bootstrap
    print(f"baseline (one at a time): {looped:6.2f} s (extrapolated from {k} resamples)")
    print(f"speed-up: {looped / vectorised:.1f}x")
    planted = 1000 + ELO_SCALE * (truth - truth[0])
    inside = np.mean((ratings.ci_low <= planted) & (planted <= ratings.ci_high))
    print(f"planted ratings inside their 95% CI: {inside:.0%} of {args.models}")


if __name__ == "__main__":
    main()
