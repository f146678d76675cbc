"""The default `minilm` toxicity model: how its checkpoint is built from the shipped encoder
and the committed adapter, and that its committed validation figures are what the
committed model gives on the hand-written held-out replies."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from judges.scorers import toxicity_minilm
from judges.scorers.lora_merge import merged_state_dict
from judges.scorers.toxicity import DETOXIFY_LABELS, ToxicityModel, predict
from judges.scorers.toxicity_minilm import checkpoint, settings, validation
from tools.toxicity_validation import DATA, auroc_with_ci


def test_merge_adds_the_scaled_low_rank_product_and_keeps_the_trained_layers() -> None:
    """Against a direct computation on a made-up two-layer encoder."""
    rng = torch.Generator().manual_seed(0)
    encoder = {
        "embeddings.word_embeddings.weight": torch.randn(10, 4, generator=rng),
        "embeddings.position_ids": torch.arange(8),
        "encoder.layer.0.attention.self.query.weight": torch.randn(4, 4, generator=rng),
        "encoder.layer.0.attention.self.query.bias": torch.randn(4, generator=rng),
        "encoder.layer.1.attention.self.query.weight": torch.randn(4, 4, generator=rng),
        "pooler.dense.weight": torch.randn(4, 4, generator=rng),
    }
    a, b = torch.randn(2, 4, generator=rng), torch.randn(4, 2, generator=rng)
    adapter = {
        "encoder.layer.0.attention.self.query.lora_A": a,
        "encoder.layer.0.attention.self.query.lora_B": b,
        "bert.pooler.dense.weight": torch.ones(4, 4),
        "classifier.weight": torch.zeros(6, 4),
    }
    merged = merged_state_dict(encoder, adapter, {"layers": 1, "rank": 2, "alpha": 4}, Path("x"))
    assert set(merged) == {
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.0.attention.self.query.bias",
        "bert.pooler.dense.weight",
        "classifier.weight",
    }
    query = encoder["encoder.layer.0.attention.self.query.weight"]
    assert torch.allclose(
        merged["bert.encoder.layer.0.attention.self.query.weight"], query + 2.0 * b @ a
    )
    assert torch.equal(merged["bert.pooler.dense.weight"], torch.ones(4, 4))
    assert torch.equal(encoder["encoder.layer.0.attention.self.query.weight"], query)


def test_checkpoint_is_built_once_with_its_config_beside_it() -> None:
    path, folder = checkpoint()
    built = path.stat().st_mtime_ns
    assert checkpoint() == (path, folder) and path.stat().st_mtime_ns == built
    config = json.loads((folder / "config.json").read_text())
    assert config["num_hidden_layers"] == settings()["layers"]
    assert json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"] == 128
    loaded = torch.load(path, map_location="cpu", weights_only=False)
    assert loaded["config"]["dataset"]["args"]["classes"] == list(DETOXIFY_LABELS)
    assert loaded["config"]["arch"]["args"]["model_type"] == str(folder)
    assert not list(folder.parent.glob("*.part"))


def test_committed_validation_figures_are_the_committed_models() -> None:
    """Recomputed on the 80 hand-written held-out replies (never trained on, measured once
    after the recipe was fixed): the AUROC and shares in validation.json, which reports
    quote, are what this model gives."""
    found = validation()
    assert found is not None, "judges/assets/toxicity-minilm-v1/validation.json is missing"
    rows = [json.loads(x) for x in (DATA / "written_test.jsonl").read_text().splitlines()]
    scores = np.array([p["toxicity"] for p in predict([r["text"] for r in rows], ToxicityModel())])
    toxic = np.array([r["toxic"] for r in rows])
    value, low, high = auroc_with_ci(scores, toxic)
    held = found["written_test"]
    assert (value, low, high) == pytest.approx((held["auroc"], *held["ci"]), abs=2e-3)
    assert (scores[toxic] > 0.5).mean() == pytest.approx(
        held["toxic_above"]["share_above"], abs=0.011
    )
    assert (scores[~toxic] > 0.5).mean() == pytest.approx(
        held["benign_above"]["share_above"], abs=0.011
    )
    assert (
        value >= 0.95
        and (scores[toxic] > 0.5).mean() >= 0.85
        and (scores[~toxic] > 0.5).mean() <= 0.10
    )
    assert held["n"] == len(rows) == 80 and toxic.sum() == 40


def test_no_committed_interval_is_degenerate() -> None:
    """Every interval in validation.json has width; a figure too thin for one says so."""
    found = validation()
    assert found is not None

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "ci" in node:
                low, high = node["ci"]
                assert low < high, node
            for value in node.values():
                walk(value)

    walk(found)
    for label in found["written_test"]["per_label"].values():
        assert "ci" in label or label["finding"].startswith("too few to tell")


def test_report_text_names_the_model_and_its_figures() -> None:
    text = toxicity_minilm.describe()
    assert text.startswith("toxicity-minilm-v1") and "not detoxify's released model" in text
    found = validation()
    assert found is not None
    assert f"AUROC {found['written_test']['auroc']:.3f}" in text
