"""Direct preference optimisation on preference pairs (TRL's DPOTrainer), and its robust
variants (KLDPO, WDPO) when `robust_radius` > 0 (see trainers/robust_dpo.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.registry import register
from trainers.common import common_args, peft_config, split_rows, trl_datasets, trl_module
from trainers.config import DPOTrainConfig
from trainers.data import load_pairs
from trainers.method import Method


def build_dpo(
    config: DPOTrainConfig, model: Any, tokenizer: Any, base: Path, rows: list[Any]
) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(rows, config.eval_fraction, config.seed)
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


DPO = register("trainer", "dpo")(
    Method("dpo", False, build_dpo, lambda c: load_pairs(c.data, c.limit))
)
