"""A reward model trained on preference pairs (TRL's RewardTrainer, a sequence classifier)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.registry import register
from trainers.common import common_args, peft_config, split_rows, trl_datasets, trl_module
from trainers.config import RewardTrainConfig
from trainers.data import load_pairs
from trainers.method import Method


def build_reward_model(
    config: RewardTrainConfig, model: Any, tokenizer: Any, base: Path, rows: list[Any]
) -> tuple[Any, list[Any]]:
    trl = trl_module()
    train, held = split_rows(rows, config.eval_fraction, config.seed)

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


REWARD_MODEL = register("trainer", "rm")(
    Method("rm", True, build_reward_model, lambda c: load_pairs(c.data, c.limit))
)
