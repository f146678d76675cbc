"""What every TRL trainer here is built from: the library, shared arguments, LoRA, splits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, UserError
from trainers.config import TrainConfig


def trl_module() -> Any:
    try:
        import trl
    except ImportError:
        raise MissingDependencyError("trl", "harness train", "pip install 'trl==1.12.0'") from None
    return trl


def common_args(config: TrainConfig) -> dict[str, Any]:
    return {
        "output_dir": str(config.out / "trainer-state"),
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "seed": config.seed,
        "bf16": config.bf16,
        "gradient_checkpointing": config.gradient_checkpointing,
        "disable_tqdm": True,
    }


def peft_config(config: TrainConfig, task_type: str) -> Any:
    if not config.lora:
        return None
    try:
        from peft import LoraConfig
    except ImportError:
        raise MissingDependencyError("peft", "--lora") from None
    return LoraConfig(r=config.lora_r, lora_alpha=2 * config.lora_r, task_type=task_type)


def split_rows(rows: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    import random

    if fraction <= 0:
        return rows, []
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    held = max(1, round(fraction * len(rows)))
    if held >= len(rows):
        raise UserError("--eval-fraction leaves no training rows")
    return shuffled[held:], shuffled[:held]


def trl_datasets(train: list[Any], held: list[Any], row: Callable[[Any], Any]) -> dict[str, Any]:
    """TRL's train and (when rows were held out) eval datasets, one `row(item)` each."""
    from datasets import Dataset

    return {
        "train_dataset": Dataset.from_list([row(x) for x in train]),
        "eval_dataset": Dataset.from_list([row(x) for x in held]) if held else None,
    }


@contextmanager
def checkpoint_dir(out: Path) -> Iterator[Path]:
    """A work directory beside `out`, renamed to `out` only when training finished: a crash or
    kill never leaves a half-written checkpoint at `out` (the next run starts afresh)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: exists and is not an empty directory")
    work = out.with_name(f".{out.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.replace(work, out)


Log = Callable[[str], None]
"""Where long trainers report their stages (the CLI prints to stderr)."""
