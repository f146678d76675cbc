"""Supervised fine-tuning on chats (TRL's SFTTrainer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.registry import register
from trainers.common import common_args, peft_config, split_rows, trl_datasets, trl_module
from trainers.config import SFTTrainConfig
from trainers.data import load_chats
from trainers.method import Method


def build_sft(
    config: SFTTrainConfig, model: Any, tokenizer: Any, base: Path, rows: list[Any]
) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(rows, config.eval_fraction, config.seed)
    args = trl.SFTConfig(**common_args(config), max_length=config.max_length)
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        **trl_datasets(train, held, lambda m: {"messages": m}),
        processing_class=tokenizer,
        peft_config=peft_config(config, "CAUSAL_LM"),
    )
    return trainer, held


SFT = register("trainer", "sft")(
    Method("sft", False, build_sft, lambda c: load_chats(c.data, c.limit))
)
