"""The refusal detector's layers against human labels (run by hand; CI does not):

    python -m tools.refusal_validation ../shared/data/xstest/xstest_v2_completions_train.csv \
        --alpaca-eval ../shared/data/alpaca_eval/annotations \
        --hh-rlhf ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz [--reader-folds]

XSTest's 432 shared rows are real answers of GPT-4 and Mistral-7B-Instruct to 216 XSTest
prompts, each with XSTest's final label, split by prompt (`half`: CRC-32 of the prompt
text, even or odd). The development half was read while writing rules-v3 and v4; the test
half was not looked at. The rules and the head (which trains on none of the rows) are
scored on both halves. The reader trains on all of them, so the reader and the default
detector (which uses it) are scored on XSTest only in leave-one-model-out folds that
retrain the reader without the held-out model's answers and prompts (`--reader-folds`,
both orientations, about 100 minutes on 2 cores, or minutes with `--reader-cache DIR`
once the same fold readers were trained into DIR; the folds scored on the test half are
held out for the rules too); the head's folds (`--alpaca-eval`) add the other model's rows
to its recipe. Every layer is scored on the hand-written held-out sets, on PyRIT's
human-labelled rows (binary) when `pyrit` is installed, and on the hand-labelled real
answers of other assistants (AlpacaEval's, `--alpaca-eval`; HH-RLHF's, `--hh-rlhf`). For each: 3-class and binary
accuracy with Wilson 95% CIs; per-class precision, recall (Wilson) and F1 (Wilson's
interval on TP / (TP + FP + FN), mapped to F1); a reliability table of `refusal_score`
(the probability of a refusal of any kind) against the observed share of refusals; and
throughput. Only the prompt and answer texts are read: never XSTest's type or
safe/unsafe label. Prints JSON; `--out` also writes it.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from harness.stats.intervals import f1_interval, wilson_interval
from judges.scorers.refusal.scorer import LABELS, Verdict

XSTEST_LABELS = {
    "1_full_compliance": "compliance",
    "2_full_refusal": "full_refusal",
    "3_partial_refusal": "partial_refusal",
}


def read_rows(path: Path) -> list[dict[str, str]]:
    """model, completion and label (one of LABELS) of each row."""
    with path.open(encoding="utf-8", newline="") as f:
        return [
            {
                "model": r["model"],
                "prompt": r["prompt"],
                "completion": r["completion"],
                "label": XSTEST_LABELS[r["final_label"]],
            }
            for r in csv.DictReader(f)
        ]


def half(prompt: str) -> str:
    """'dev' or 'test': which half of the prompt split a row belongs to."""
    return "dev" if zlib.crc32(prompt.encode("utf-8")) % 2 == 0 else "test"


def prompt_disjoint(
    recipe: list[dict[str, Any]], scored: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The recipe's rows whose prompt none of the scored rows has. Some hand-written
    training answers reply to XSTest prompts (37 rows: 20 on test-half prompts, 17 on
    development-half ones); a fold that trained on them would have seen the prompts it is
    scored on. Compared case- and space-insensitively."""
    seen = {r["prompt"].strip().lower() for r in scored}
    return [r for r in recipe if (r.get("prompt") or "").strip().lower() not in seen]


def _ci(k: int, n: int) -> list[float] | None:
    return [round(float(x), 3) for x in wilson_interval(k, n)] if n else None


def scores(pred: list[str], gold: list[str]) -> dict[str, Any]:
    """Accuracies and per-class precision and recall with Wilson CIs; per-class F1 with
    Wilson's interval on TP / (TP + FP + FN) mapped to F1 (`f1_interval`: never zero-width,
    where a bootstrap over rows gave [1, 1] to a class with no error), stated from 5 rows
    of the class."""
    p, g = np.array(pred), np.array(gold)
    n = len(g)
    right3 = int(np.sum(p == g))
    right2 = int(np.sum((p != "compliance") == (g != "compliance")))
    out: dict[str, Any] = {
        "n": n,
        "accuracy_3class": round(right3 / n, 3),
        "accuracy_3class_ci": _ci(right3, n),
        "accuracy_binary": round(right2 / n, 3),
        "accuracy_binary_ci": _ci(right2, n),
    }
    for label in LABELS:
        tp = int(np.sum((p == label) & (g == label)))
        npred, ngold = int(np.sum(p == label)), int(np.sum(g == label))
        out[label] = {
            "n": ngold,
            "precision": round(tp / npred, 3) if npred else None,
            "precision_ci": _ci(tp, npred),
            "recall": round(tp / ngold, 3) if ngold else None,
            "recall_ci": _ci(tp, ngold),
            "f1": round(2 * tp / (npred + ngold), 3) if npred + ngold else None,
            "f1_ci": [round(x, 3) for x in f1_interval(tp, npred - tp, ngold - tp)]
            if ngold >= 5
            else None,
        }
    return out


def reliability(score: list[float], gold: list[str], bins: int = 5) -> list[dict[str, Any]]:
    """`refusal_score` in equal-width bins: mean score against the observed share of any
    refusal (Wilson CI) per bin."""
    s, refused = np.array(score), np.array([g != "compliance" for g in gold])
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (s >= lo) & ((s < hi) if b < bins - 1 else (s <= hi))
        n = int(inside.sum())
        k = int(refused[inside].sum())
        rows.append(
            {
                "bin": [lo, hi],
                "n": n,
                "mean_score": round(float(s[inside].mean()), 3) if n else None,
                "observed_refusal": round(k / n, 3) if n else None,
                "observed_ci": _ci(k, n),
            }
        )
    return rows


def layers(reader: bool) -> dict[str, Any]:
    """name -> (texts, prompts) -> verdicts, for every offline layer; the reader and the
    default only where the reader never trained (it trains on all of XSTest's shared
    rows)."""
    from judges.scorers.refusal.classifier import classify
    from judges.scorers.refusal.detector import detect
    from judges.scorers.refusal.reader import read
    from judges.scorers.refusal.rules import rule_verdicts

    found = {
        "rules": rule_verdicts,
        "classifier": lambda texts, prompts: classify(texts),
    }
    if reader:  # the default reads with the reader too
        found["reader"] = read
        found["default"] = detect
    return found


def evaluate(rows: list[dict[str, str]], reader: bool = True) -> dict[str, Any]:
    texts, gold = [r["completion"] for r in rows], [r["label"] for r in rows]
    prompts = [r.get("prompt") or "" for r in rows]
    models = sorted({r["model"] for r in rows})
    found: dict[str, Any] = {"n": len(rows), "labels": {g: gold.count(g) for g in LABELS}}
    from judges.scorers.embeddings import clear_cache

    for name, run in layers(reader).items():
        run(texts[:4], prompts[:4])  # load models before timing
        clear_cache()  # each layer timed from cold (embeddings are cached in-process)
        start = time.perf_counter()
        verdicts: list[Verdict] = run(texts, prompts)
        seconds = time.perf_counter() - start
        pred = [v.label for v in verdicts]
        entry: dict[str, Any] = {
            "all": scores(pred, gold),
            "items_per_second": round(len(texts) / seconds, 1),
            "reliability": reliability([v.refusal_score for v in verdicts], gold),
        }
        for model in models:
            idx = [i for i, r in enumerate(rows) if r["model"] == model]
            entry[model] = scores([pred[i] for i in idx], [gold[i] for i in idx])
        found[name] = entry
    return found


def leave_one_model_out(
    rows: list[dict[str, str]], alpaca_eval: Path, l2: float = 1e-3, seed: int = 0
) -> dict[str, Any]:
    """For each model: does learning XSTest's conventions from the other model's answers
    (development half, other prompts) help on this model's test half? Scores of the rules,
    and of the classifier with the shipped head and with the head trained with the other
    model's rows."""
    from judges.scorers.refusal.classifier import classify
    from judges.scorers.refusal.rules import rule_verdicts
    from tools.refusal_training import train_head, training_rows

    tested = [r for r in rows if half(r["prompt"]) == "test"]
    recipe = prompt_disjoint(training_rows(alpaca_eval, 400, seed), tested)
    found: dict[str, Any] = {}
    for held in sorted({r["model"] for r in rows}):
        extra = [r for r in rows if r["model"] != held and half(r["prompt"]) == "dev"]
        test = [r for r in tested if r["model"] == held]
        head = train_head(recipe + extra, l2)
        texts, gold = [r["completion"] for r in test], [r["label"] for r in test]
        by_rules = rule_verdicts(texts, [r["prompt"] for r in test])
        found[held] = {
            "trained_on_other_model_rows": len(extra),
            "rules": scores([v.label for v in by_rules], gold),
            "classifier_shipped": scores([v.label for v in classify(texts)], gold),
            "classifier_lomo": scores([v.label for v in classify(texts, head)], gold),
        }
    return found


def reader_leave_one_model_out(
    rows: list[dict[str, str]],
    alpaca_eval: Path,
    train_half: str,
    seed: int = 0,
    cache: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """For each model: the reader retrained (as `tools/refusal_reader_training.py` does) on
    its recipe plus the other model's `train_half` rows, scored on this model's other half:
    an unseen model on unseen prompts for the reader: no recipe row on a scored prompt
    (`prompt_disjoint`; until December 7 twenty hand-written training answers replied to
    test-half prompts). With train_half "dev" the scored rows are the test half, whose rows
    the rules were not written on, except that rules-v6's premise denial was prompted by
    reading five of its errors (refusal_decisions.json): for that rule the test half is not
    held out. With "test" (the folds that ran first) the rules' part is in-sample. Returns
    the per-model folds, and both models' scored rows pooled. About 25 minutes per model on
    2 cores, or a load from `cache` when a reader of the same recipe was trained before
    (`tools.refusal_reader_training.cached_reader`)."""
    from judges.scorers.refusal.detector import detect
    from judges.scorers.refusal.reader import read
    from judges.scorers.refusal.rules import rule_verdicts
    from tools.refusal_reader_training import cached_reader, reader_rows

    scored_half = "dev" if train_half == "test" else "test"
    scored = [r for r in rows if half(r["prompt"]) == scored_half]
    found: dict[str, Any] = {}
    pooled: dict[str, list[Any]] = {"gold": [], "default": [], "rules": [], "score": []}
    for held in sorted({r["model"] for r in rows}):
        extra = [r for r in rows if r["model"] != held and half(r["prompt"]) == train_half]
        test = [r for r in scored if r["model"] == held]
        recipe = prompt_disjoint(reader_rows(alpaca_eval, extra, seed), scored)
        reader = cached_reader(recipe, seed, cache)
        texts, gold = [r["completion"] for r in test], [r["label"] for r in test]
        prompts = [r["prompt"] for r in test]
        default = detect(texts, prompts, reader)
        by_rules = [v.label for v in rule_verdicts(texts, prompts)]
        pooled["gold"] += gold
        pooled["default"] += [v.label for v in default]
        pooled["rules"] += by_rules
        pooled["score"] += [v.refusal_score for v in default]
        found[held] = {
            "trained_on": f"recipe + the other model's {train_half}-half rows (x2), without "
            f"any row on a {scored_half}-half prompt",
            "evaluated_on": f"this model's {scored_half}-half rows",
            "rules_written_on_these_rows": scored_half == "dev",
            "rules": scores(by_rules, gold),
            "reader_with_prompt": scores([v.label for v in read(texts, prompts, reader)], gold),
            "reader_answer_only": scores([v.label for v in read(texts, None, reader)], gold),
            "default_with_prompt": scores([v.label for v in default], gold),
        }
    return found, {
        "default": scores(pooled["default"], pooled["gold"]),
        "rules": scores(pooled["rules"], pooled["gold"]),
        "default_reliability": reliability(pooled["score"], pooled["gold"]),
    }


def alpaca_eval_real(alpaca_eval: Path) -> dict[str, Any]:
    """Every layer on hand-labelled real AlpacaEval answers of 30 other models
    (`tools/alpaca_eval_refusal_check.py`), by stratum: the 180-answer check (nothing made
    or chosen with it), again on the 152 where XSTest's guide settles the class, and the
    development sample's 'decide' part (118; chose rules-v5 and reader v3, trained on by
    neither)."""
    from tools.alpaca_eval_refusal_check import dev_rows, labelled

    rows = [{**r, "model": r["stratum"]} for r in labelled(alpaca_eval)]
    decide = [{**r, "model": r["stratum"]} for r in dev_rows(alpaca_eval, "decide")]
    return {
        "check": evaluate(rows),
        "check_guide_clear": evaluate([r for r in rows if not r["guide_unclear"]]),
        "dev_decide": evaluate(decide),
    }


def hh_rlhf_real(hh_rlhf: Path) -> dict[str, Any]:
    """Every layer on the 240 hand-labelled HH-RLHF answers (`tools/hh_rlhf_refusal_sample.py`;
    real answers of Anthropic's 2022 assistants to red-team requests, nothing made with
    them; they chose between three ways of combining the default's parts and kept the
    committed one), by side (`chosen`, `rejected`), and again on the 110 rows where XSTest's
    guide settles the class."""
    from tools.hh_rlhf_refusal_sample import labelled

    rows = [{**r, "model": r["side"]} for r in labelled(hh_rlhf)]
    return {
        "all": evaluate(rows),
        "guide_clear": evaluate([r for r in rows if not r["guide_unclear"]]),
    }


def main() -> None:
    from tools.refusal_training import DATA, HELD_OUT, pyrit_rows, read_labelled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--alpaca-eval", type=Path, default=None)
    parser.add_argument("--hh-rlhf", type=Path, default=None, help="harmless-base-test.jsonl.gz")
    parser.add_argument("--reader-folds", action="store_true", help="retrain the reader per fold")
    parser.add_argument(
        "--reader-cache", type=Path, default=None,
        help="keep each fold's reader here, by its recipe's digest, and reuse it",
    )  # fmt: skip
    args = parser.parse_args()
    rows = read_rows(args.csv)
    result = {
        "xstest_test_half": evaluate([r for r in rows if half(r["prompt"]) == "test"], False),
        "xstest_dev_half": evaluate([r for r in rows if half(r["prompt"]) == "dev"], False),
        "xstest_both_halves": evaluate(rows, False),
    }
    if args.alpaca_eval is not None:
        result["leave_one_model_out"] = leave_one_model_out(rows, args.alpaca_eval)
        result["alpaca_eval_real_answers"] = alpaca_eval_real(args.alpaca_eval)
    if args.alpaca_eval is not None and args.reader_folds:
        for train_half, key in (("test", "dev_half"), ("dev", "test_half")):
            folds, pooled = reader_leave_one_model_out(
                rows, args.alpaca_eval, train_half, cache=args.reader_cache
            )
            result[f"reader_leave_one_model_out_{key}_pooled"] = pooled
            result[f"reader_leave_one_model_out_{key}"] = folds
    if args.hh_rlhf is not None:
        result["hh_rlhf_real_answers"] = hh_rlhf_real(args.hh_rlhf)
    for name in HELD_OUT:
        written = read_labelled(DATA / name)
        result[name.removesuffix(".jsonl")] = evaluate(
            [{**r, "model": r.get("style", "written")} for r in written]
        )
    # the 36 rows that decided rules-v6's premise-denial rule: not held out for the rules
    premise = read_labelled(DATA / "written_premise_check.jsonl")
    result["written_premise_check_decided_rules_v6"] = evaluate(
        [{**r, "model": r.get("style", "written")} for r in premise]
    )
    pyrit = [{**r, "model": "pyrit", "prompt": ""} for r in pyrit_rows()]  # objective != prompt
    if pyrit:  # binary labels only: read its binary figures
        result["pyrit_binary"] = evaluate(pyrit)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
