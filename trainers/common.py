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


def trl_experimental(name: str, purpose: str) -> Any:
    """A module of `trl.experimental` (PPO, online DPO): TRL's warning that experimental APIs
    may change is silenced, since the version is pinned."""
    import importlib
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(f"trl.experimental.{name}")
    except ImportError:
        raise MissingDependencyError(
            f"trl.experimental.{name}", purpose, "pip install 'trl==1.12.0'"
        ) from None


def common_args(config: TrainConfig) -> dict[str, Any]:
    """TrainingArguments every method shares. With in-training evaluation the trainer's
    state is saved at each evaluated step (the latest only), so a killed run resumes there."""
    saving: dict[str, Any] = {"save_strategy": "no"}
    if config.evaluation is not None:
        saving = {
            "save_strategy": "steps",
            "save_steps": config.evaluation.every,
            "save_total_limit": 1,
        }
    return {
        **saving,
        "output_dir": str(config.out / "trainer-state"),
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "logging_steps": 1,
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
    given = config.lora_target_modules
    targets: str | list[str] | None = (
        given
        if given is None or given == "all-linear"
        else [t.strip() for t in given.split(",") if t.strip()]
    )
    return LoraConfig(
        r=config.lora_r, lora_alpha=2 * config.lora_r, task_type=task_type, target_modules=targets
    )


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


RESUME_KEY = ".resume-key"


@contextmanager
def checkpoint_dir(out: Path, resume_key: str | None = None) -> Iterator[Path]:
    """A work directory beside `out`, renamed to `out` only when training finished: a crash or
    kill never leaves a half-written checkpoint at `out`. Without `resume_key` the next run
    starts afresh. With one (in-training evaluation), an interrupted run's work directory is
    kept, and a run with the same key carries on in it (its saved trainer state and
    evaluations); a different key starts afresh."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: exists and is not an empty directory")
    work = out.with_name(f".{out.name}.partial")
    key_file = work / RESUME_KEY
    kept = (
        resume_key is not None
        and key_file.is_file()
        and key_file.read_text(encoding="utf-8") == resume_key
    )
    if not kept:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if resume_key is not None:
            key_file.write_text(resume_key, encoding="utf-8")
    try:
        yield work
    except BaseException:
        if resume_key is None:
            shutil.rmtree(work, ignore_errors=True)
        raise
    key_file.unlink(missing_ok=True)
    os.replace(work, out)


def latest_trainer_state(work: Path) -> Path | None:
    """The newest complete trainer state in a work directory (to resume from), if any: the
    trainer writes trainer_state.json last, so a save a kill cut short is passed over."""
    found = sorted(
        (
            p
            for p in (work / "trainer-state").glob("checkpoint-*")
            if (p / "trainer_state.json").is_file()
        ),
        key=lambda p: int(p.name.rsplit("-", 1)[1]),
    )
    return found[-1] if found else None


Log = Callable[[str], None]
"""Where long trainers report their stages (the CLI prints to stderr)."""
