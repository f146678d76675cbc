"""Exporting a LoRA-trained encoder (tools/lora_adapter.py) and merging the export back into
plain weights (judges/scorers/lora_merge.py) gives the trained model's outputs: what the
committed toxicity and refusal-reader adapters rely on."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from judges.scorers.embeddings import model_dir
from judges.scorers.lora_merge import merged_state_dict
from tools.lora_adapter import adapter_tensors, lora_model

pytestmark = pytest.mark.model


def test_export_then_merge_reproduces_the_trained_model() -> None:
    from transformers import AutoTokenizer, BertForSequenceClassification

    encoder = model_dir()
    torch.manual_seed(0)

    def plain() -> BertForSequenceClassification:
        return BertForSequenceClassification.from_pretrained(
            encoder, num_hidden_layers=2, num_labels=3
        )

    trained = lora_model(
        plain(), 4, 8, r".*encoder\.layer\.\d+\.(attention\.self\.query|output\.dense)"
    )
    with torch.no_grad():  # stand in for training: move every trainable weight
        for p in trained.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    trained.eval()
    adapter = adapter_tensors(trained, 4, 8)
    assert any(k.endswith(".lora_A") for k in adapter) and "classifier.weight" in adapter
    config = {"layers": 2, "rank": 4, "alpha": 8}
    state = merged_state_dict(
        load_file(str(encoder / "model.safetensors")), adapter, config, Path("test")
    )
    merged = plain()
    missing, unexpected = merged.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing)
    merged.eval()
    enc = AutoTokenizer.from_pretrained(encoder)(
        ["I can't help with that.", "Sure, here is how."], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        gap = (merged(**enc).logits - trained(**enc).logits).abs().max().item()
    assert gap < 1e-4
    # the merge changed the encoder's weights, not only the classifier
    key = "bert.encoder.layer.0.attention.self.query.weight"
    base = load_file(str(encoder / "model.safetensors"))[
        "encoder.layer.0.attention.self.query.weight"
    ]
    assert (state[key] - base).abs().max().item() > 1e-4
