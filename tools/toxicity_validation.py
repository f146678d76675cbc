"""Held-out validation of a toxicity model (default: the shipped `minilm`), written to
`judges/assets/toxicity-minilm-v1/validation.json`, which reports quote:

    python -m tools.toxicity_validation --alpaca-eval ../shared/data/alpaca_eval/annotations \\
        --out judges/assets/toxicity-minilm-v1/validation.json

Measured on text the model never trained on:
- `written_test`: 40 toxic and 40 tricky benign replies (trigger words, history, fiction,
  poems, refusals) in `tools/toxicity_data/written_test.jsonl`, written apart from the
  training phrases after the recipe was fixed and measured once: AUROC with a bootstrap
  CI, and the shares above 0.5 with Wilson CIs; per label, the AUROC of that label for the
  replies of its kind against the benign ones (with fewer than MIN_PER_LABEL replies of
  that kind, too few to tell: no interval);
- `written_development`: the same for 50 + 50 replies (`written_development.jsonl`),
  written apart from training too but read while choosing between recipes: not held out;
- `ordinary_answers`: 1,000 answers of the AlpacaEval test models (whole families never
  trained on, `TEST_MODELS`), measured once: the share above 0.5, the five highest, and
  `answers_per_second` on them after the model is loaded;
- `ordinary_answers_development`: the same for the development models (never trained on,
  but read while the recipe changed, so not held out);
- `pyrit_harm`: AUROC against PyRIT's human harm ratings of model answers.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.stats.intervals import percentile_or_wilson, wilson_interval
from judges.scorers.toxicity import THRESHOLD, ToxicityModel, load_detoxify, predict

DATA = Path(__file__).parent / "toxicity_data"
ORDINARY = 1000
MIN_PER_LABEL = 20
"""Fewer replies of a kind than this: its label's AUROC is reported as too few to tell."""


def auroc_with_ci(
    scores: np.ndarray, positive: np.ndarray, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """AUROC (Mann-Whitney U / n_pos n_neg) with a percentile bootstrap 95% CI over rows.

    Where the bootstrap has no spread (perfect separation: every resample scores 1), the
    interval is Wilson's with the smaller class's count as n. That is conservative: with m
    the smaller count, m disjoint positive-negative pairs are independent, and all of them
    are ordered with probability AUROC^m, at least that of a perfect sample."""
    from scipy.stats import mannwhitneyu

    def auroc(s: np.ndarray, p: np.ndarray) -> float:
        return float(mannwhitneyu(s[p], s[~p]).statistic / (p.sum() * (~p).sum()))

    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(resamples):
        idx = rng.integers(0, len(scores), len(scores))
        if 0 < positive[idx].sum() < len(idx):
            boot.append(auroc(scores[idx], positive[idx]))
    value = auroc(scores, positive)
    low, high = percentile_or_wilson(boot, value, int(min(positive.sum(), (~positive).sum())))
    return round(value, 3), round(low, 3), round(high, 3)


def share_above(scores: np.ndarray) -> dict[str, Any]:
    """Share of scores above THRESHOLD, with its Wilson 95% CI and n."""
    k = int((scores > THRESHOLD).sum())
    low, high = wilson_interval(k, len(scores))
    return {
        "share_above": round(k / len(scores), 4),
        "ci": [round(low, 4), round(high, 4)],
        "n": len(scores),
    }


def written(spec: ToxicityModel, name: str) -> dict[str, Any]:
    """AUROC, shares above 0.5 and per-label AUROCs on the hand-written set `name`."""
    rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines()]
    found = predict([r["text"] for r in rows], spec)
    toxic = np.array([bool(r["toxic"]) for r in rows])
    scores = np.array([p["toxicity"] for p in found])
    value, low, high = auroc_with_ci(scores, toxic)
    per_label: dict[str, Any] = {}
    for label in ("insult", "threat", "identity_attack", "obscene"):
        chosen = np.array([r["kind"] == label or not r["toxic"] for r in rows])
        own = np.array([p[label] for p in found])[chosen]
        a, lo, hi = auroc_with_ci(own, toxic[chosen])
        positives = int(toxic[chosen].sum())
        per_label[label] = {"auroc": a, "n_positive": positives}
        # A percentile bootstrap of a few perfectly separated rows is [1, 1]: no interval.
        if positives < MIN_PER_LABEL:
            per_label[label]["finding"] = f"too few to tell (fewer than {MIN_PER_LABEL} replies)"
        else:
            per_label[label]["ci"] = [lo, hi]
    return {
        "n": len(rows),
        "auroc": value,
        "ci": [low, high],
        "toxic_above": share_above(scores[toxic]),
        "benign_above": share_above(scores[~toxic]),
        "per_label": per_label,
        "misses": [
            r["text"] for r, s in zip(rows, scores, strict=True) if r["toxic"] and s <= THRESHOLD
        ],
        "false_alarms": [
            r["text"] for r, s in zip(rows, scores, strict=True) if not r["toxic"] and s > THRESHOLD
        ],
    }


def ordinary_answers(
    alpaca_eval: Path, spec: ToxicityModel, models: tuple[str, ...]
) -> dict[str, Any]:
    """The share above 0.5 of ORDINARY answers of `models`, the highest five, and the
    throughput on them."""
    from tools.toxicity_minilm_training import answers

    texts = random.Random(0).sample(answers(alpaca_eval, models), ORDINARY)
    load_detoxify(spec)
    started = time.perf_counter()
    scores = np.array([p["toxicity"] for p in predict(texts, spec)])
    seconds = time.perf_counter() - started
    top = np.argsort(-scores)[:5]
    return {
        **share_above(scores),
        "models": list(models),
        "highest": [[round(float(scores[i]), 3), texts[i][:200]] for i in top],
        "answers_per_second": round(len(texts) / seconds, 1),
    }


def pyrit_harm_auroc(spec: ToxicityModel) -> dict[str, Any]:
    """AUROC of `toxicity` against PyRIT's human harm ratings (>= 0.5 = harmful) of model
    answers, per category; none of these rows is trained on."""
    found_spec = importlib.util.find_spec("pyrit")
    if found_spec is None or found_spec.origin is None:
        return {}
    folder = Path(found_spec.origin).parent / "datasets" / "scorer_evals" / "harm"
    found: dict[str, Any] = {}
    for name in ("hate_speech", "violence", "sexual"):
        lines = [x for x in (folder / f"{name}.csv").read_text().splitlines(True) if x[:1] != "#"]
        rows = list(csv.DictReader(lines))
        scores = np.array(
            [p["toxicity"] for p in predict([r["assistant_response"] for r in rows], spec)]
        )
        harmful = np.array([float(r["human_score_1"]) >= 0.5 for r in rows])
        value, low, high = auroc_with_ci(scores, harmful)
        found[name] = {"auroc": value, "ci": [low, high], "n": len(rows)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True)
    parser.add_argument("--model", default="minilm", help="--toxicity-model value")
    parser.add_argument("--config", default=None, help="--toxicity-config value")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--development-only",
        action="store_true",
        help="skip the test models' answers (while the recipe is still changing)",
    )
    args = parser.parse_args()
    from tools.toxicity_minilm_training import DEVELOPMENT_MODELS, TEST_MODELS

    spec = ToxicityModel(args.model, args.config)
    report: dict[str, Any] = {"model": spec.model}
    if not args.development_only:
        report["written_test"] = written(spec, "written_test")
        report["ordinary_answers"] = ordinary_answers(args.alpaca_eval, spec, TEST_MODELS)
    report["written_development"] = written(spec, "written_development")
    report["ordinary_answers_development"] = ordinary_answers(
        args.alpaca_eval, spec, DEVELOPMENT_MODELS
    )
    report["pyrit_harm"] = pyrit_harm_auroc(spec)
    report["made_by"] = "python -m tools.toxicity_validation"
    text = json.dumps(report, indent=1) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
