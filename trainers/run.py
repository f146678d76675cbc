"""Running a trainer: load the base model, build the TRL trainer for the method, train,
save a loadable checkpoint and `manifest.json`.

The methods differ only in the data they take and the TRL trainer they build; everything
around that (model loading, LoRA, saving, the manifest) is shared here.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.errors import UserError
from harness.models import resolve_model
from harness.registry import lookup, register
from harness.runner import library_versions
from trainers.common import (
    Log,
    checkpoint_dir,
    common_args,
    peft_config,
    split_rows,
    trl_datasets,
    trl_module,
)
from trainers.config import (
    CAITrainConfig,
    DPOTrainConfig,
    RewardTrainConfig,
    SFTTrainConfig,
    TrainConfig,
)
from trainers.data import load_chats, load_pairs, source_digest
from trainers.ppo import build_ppo, ppo_metrics, ppo_policy


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


def _sft(config: SFTTrainConfig, model: Any, tokenizer: Any, base: Path) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(
        load_chats(config.data, config.limit), config.eval_fraction, config.seed
    )
    args = trl.SFTConfig(**common_args(config), max_length=config.max_length)
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        **trl_datasets(train, held, lambda m: {"messages": m}),
        processing_class=tokenizer,
        peft_config=peft_config(config, "CAUSAL_LM"),
    )
    return trainer, held


def _dpo(config: DPOTrainConfig, model: Any, tokenizer: Any, base: Path) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(
        load_pairs(config.data, config.limit), config.eval_fraction, config.seed
    )
    args = trl.DPOConfig(
        **common_args(config),
        max_length=config.max_length,
        beta=config.beta,
        loss_type=[config.loss_type],
        label_smoothing=config.label_smoothing,
    )
    if config.robust_radius > 0:
        from trainers.robust_dpo import robust_dpo_trainer_class

        extra: dict[str, Any] = {
            "robust_radius": config.robust_radius,
            "robust_ball": config.robust_ball,
        }
        trainer_class: Any = robust_dpo_trainer_class()
        if config.robust_ball == "wasserstein":
            model.set_attn_implementation("eager")  # fused CPU attention has no double backward
    else:
        extra, trainer_class = {}, trl.DPOTrainer
    trainer = trainer_class(
        model=model,
        ref_model=None,  # a frozen copy of the base model (or the adapter disabled, with LoRA)
        args=args,
        **trl_datasets(train, held, lambda p: p.as_trl()),
        processing_class=tokenizer,
        peft_config=peft_config(config, "CAUSAL_LM"),
        **extra,
    )
    return trainer, held


def _reward(
    config: RewardTrainConfig, model: Any, tokenizer: Any, base: Path
) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(
        load_pairs(config.data, config.limit), config.eval_fraction, config.seed
    )

    def row(p: Any) -> dict[str, Any]:
        return {
            "chosen": [*p.prompt, {"role": "assistant", "content": p.chosen}],
            "rejected": [*p.prompt, {"role": "assistant", "content": p.rejected}],
        }

    args = trl.RewardConfig(**common_args(config), max_length=config.max_length)
    trainer = trl.RewardTrainer(
        model=model,
        args=args,
        **trl_datasets(train, held, row),
        processing_class=tokenizer,
        peft_config=peft_config(config, "SEQ_CLS"),
    )
    return trainer, held


def _trainer_model(trainer: Any) -> Any:
    return trainer.model


@dataclass(frozen=True)
class Method:
    """How one method loads its model, builds its TRL trainer and finds the trained model."""

    name: str
    sequence_classifier: bool
    build: Callable[[Any, Any, Any, Path], tuple[Any, list[Any]]]
    """(config, model, tokenizer, base model dir) -> (TRL trainer, held-out rows)."""
    trained: Callable[[Any], Any] = _trainer_model
    """The model to save, from the trainer."""
    extra_metrics: Callable[[Any], dict[str, float]] = lambda trainer: {}
    """Final metrics TRL does not log, from the trainer."""

    def __call__(
        self, config: Any, model: Any, tokenizer: Any, base: Path
    ) -> tuple[Any, list[Any]]:
        return self.build(config, model, tokenizer, base)


register("trainer", "sft")(Method("sft", False, _sft))
register("trainer", "rm")(Method("rm", True, _reward))
register("trainer", "dpo")(Method("dpo", False, _dpo))
register("trainer", "ppo")(Method("ppo", False, build_ppo, ppo_policy, ppo_metrics))


def train(config: TrainConfig, log: Log = lambda _: None) -> TrainResult:
    """Train `config.method` and write the checkpoint and manifest to `config.out`; CAI,
    which composes the other methods, reports its stages to `log`."""
    if isinstance(config, CAITrainConfig):
        from trainers.cai import train_cai  # imports this module

        return train_cai(config, log)
    method = lookup("trainer", str(config.model_dump().get("method")))
    if not isinstance(method, Method):
        raise UserError(f"trainer '{config.model_dump().get('method')}' is not a training method")
    with checkpoint_dir(config.out) as work:
        result = _train_into(method, config.model_copy(update={"out": work}), config)
    return TrainResult(config.out, result.metrics, result.steps, result.seconds)


def _train_into(method: Method, config: TrainConfig, requested: TrainConfig) -> TrainResult:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

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
    trainer, held = method(config, model, tokenizer, Path(base.path))
    started = time.time()
    trainer.train()
    metrics = {**_final_metrics(trainer), **method.extra_metrics(trainer)}
    if held:
        metrics.update({k: float(v) for k, v in trainer.evaluate().items()})
    seconds = time.time() - started
    shutil.rmtree(config.out / "trainer-state", ignore_errors=True)
    final = method.trained(trainer)
    if config.lora:
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
