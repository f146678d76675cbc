"""Merging a committed LoRA adapter into the shipped MiniLM encoder's weights.

The offline models trained here (toxicity, the refusal reader) commit only what training
changed: low-rank factors of the encoder's linear weights plus the small layers trained
whole. At load time each adapted weight W becomes W + scale * B @ A, as LoRA does, so the
unmodified `BertForSequenceClassification` runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import UserError


def merged_state_dict(
    encoder: dict[str, Any], adapter: dict[str, Any], config: dict[str, Any], source: Path
) -> dict[str, Any]:
    """A `BertForSequenceClassification` state dict: the encoder's embeddings and first
    `layers` layers with each adapted weight W replaced by W + scale * B @ A, plus the
    layers trained whole (pooler, classifier). `source` names the adapter in errors."""
    layers = int(config["layers"])
    scale = float(config["alpha"]) / float(config["rank"])
    found: dict[str, Any] = {}
    for key, value in encoder.items():
        if key.startswith("encoder.layer."):
            if int(key.split(".")[2]) >= layers:
                continue
        elif not key.startswith("embeddings.") or key.endswith("position_ids"):
            continue
        found[f"bert.{key}"] = value.clone()
    for key in adapter:
        if key.endswith(".lora_A"):
            base = key[: -len(".lora_A")]
            target = f"bert.{base}.weight"
            if target not in found:
                raise UserError(f"{source}: {base} is not in the encoder")
            found[target] = found[target] + scale * adapter[f"{base}.lora_B"] @ adapter[key]
        elif not key.endswith(".lora_B"):
            found[key] = adapter[key].clone()
    return found
