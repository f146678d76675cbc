"""One training method: how it loads its model, builds its TRL trainer and finds the trained
model; and training with it into a loadable checkpoint plus `manifest.json`.

The methods differ only in the data they take and the TRL trainer they build; everything
around that (model loading, LoRA, saving, the manifest) is shared here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.atomic import write_text_atomic
from harness.core.versions import library_versions
from harness.engines.models import resolve_model
from trainers.common import checkpoint_dir, latest_trainer_state
from trainers.config import TrainConfig
from trainers.data import source_digest
from trainers.eval_callback import CheckpointEvaluation, evaluation_callback


@dataclass(frozen=True)
class TrainResult:
    out: Path
    metrics: dict[str, float]
    """Final training metrics (and held-out ones, when rows were held out)."""
    steps: int
    seconds: float


def _final_metrics(trainer: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    for entry in trainer.state.log_history:
        found.update({k: float(v) for k, v in entry.items() if isinstance(v, int | float)})
    return found


def _trainer_model(trainer: Any) -> Any:
    return trainer.model


@dataclass(frozen=True)
class Method:
    """How one method loads its model, builds its TRL trainer and finds the trained model."""

    name: str
    sequence_classifier: bool
    build: Callable[[Any, Any, Any, Path, list[Any]], tuple[Any, list[Any]]]
    """(config, model, tokenizer, base model dir, data rows) -> (TRL trainer, held-out rows)."""
    data: Callable[[Any], list[Any]]
    """The config's training rows, read and validated before any model is loaded (a bad
    row is a one-line error, not a wait for the model first)."""
    trained: Callable[[Any], Any] = _trainer_model
    """The model to save, from the trainer."""
    extra_metrics: Callable[[Any], dict[str, float]] = lambda trainer: {}
    """Final metrics TRL does not log, from the trainer."""

    def __call__(
        self, config: Any, model: Any, tokenizer: Any, base: Path, rows: list[Any]
    ) -> tuple[Any, list[Any]]:
        return self.build(config, model, tokenizer, base, rows)


def train_with(
    method: Method, config: TrainConfig, evaluation: CheckpointEvaluation | None = None
) -> TrainResult:
    """Train `method` and write the checkpoint and manifest to `config.out` (a work directory
    renamed into place when finished, so nothing half-written is left). With `evaluation`,
    checkpoints are evaluated while training runs, and an interrupted run resumes from its
    last evaluated step."""
    key = None
    if evaluation is not None and not evaluation.staged:  # a staged method cannot resume
        key = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
    with checkpoint_dir(config.out, resume_key=key) as work:
        result = _train_into(method, config.model_copy(update={"out": work}), config, evaluation)
    return TrainResult(config.out, result.metrics, result.steps, result.seconds)


def _train_into(
    method: Method,
    config: TrainConfig,
    requested: TrainConfig,
    evaluation: CheckpointEvaluation | None = None,
) -> TrainResult:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    rows = method.data(config)
    base = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    if method.sequence_classifier:
        model = AutoModelForSequenceClassification.from_pretrained(
            base.path, num_labels=1, dtype=dtype
        )
        model.config.pad_token_id = tokenizer.pad_token_id
    else:
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=dtype)
    torch.manual_seed(config.seed)
    trainer, held = method(config, model, tokenizer, Path(base.path), rows)
    resume = None
    evaluated: dict[str, Any] = {}
    if evaluation is not None:
        resume = latest_trainer_state(config.out)
        evaluation.describe = {
            "method": method.name,
            "base_model": base.identity("transformers", "bfloat16" if config.bf16 else "float32"),
            "data": {"source": config.data},
        }
        evaluation.start(config.out, int(resume.name.rsplit("-", 1)[1]) if resume else 0)
        trainer.add_callback(
            evaluation_callback(evaluation, lambda: method.trained(trainer), tokenizer, config.lora)
        )
    started = time.time()
    trainer.train(**({"resume_from_checkpoint": str(resume)} if resume else {}))
    metrics = {**_final_metrics(trainer), **method.extra_metrics(trainer)}
    if held:
        metrics.update({k: float(v) for k, v in trainer.evaluate().items()})
    if evaluation is not None and evaluation.staged:  # the staged method finishes it
        evaluation.logs += [
            {**e, "step": e["step"] + evaluation.offset}
            for e in trainer.state.log_history
            if "step" in e
        ]
    elif evaluation is not None:
        trained = time.time() - started - evaluation.seconds
        evaluated = {
            **evaluation.finish(config.out, list(trainer.state.log_history), trained),
            "seconds": round(evaluation.seconds, 1),
        }
    seconds = time.time() - started - (evaluation.seconds if evaluation else 0.0)
    shutil.rmtree(config.out / "trainer-state", ignore_errors=True)
    final = method.trained(trainer)
    if config.lora and config.lora_merge:
        final = final.merge_and_unload()  # a plain checkpoint `harness run` loads directly
    final.save_pretrained(config.out)
    tokenizer.save_pretrained(config.out)
    manifest = {
        "method": method.name,
        "base_model": base.identity("transformers", "bfloat16" if config.bf16 else "float32"),
        "data": {"source": config.data, "sha256": source_digest(config.data)},
        "config": json.loads(requested.model_dump_json()),
        "steps": int(trainer.state.global_step),
        "final_metrics": metrics,
        "held_out_rows": len(held),
        "wall_seconds": round(seconds, 1),
        "versions": {**library_versions(), **_train_versions()},
        **({"evaluation": evaluated} if evaluated else {}),
    }
    write_text_atomic(config.out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return TrainResult(config.out, metrics, int(trainer.state.global_step), seconds)


def _train_versions() -> dict[str, str]:
    import importlib.metadata

    found = {}
    for dist in ("trl", "peft", "datasets", "accelerate"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
