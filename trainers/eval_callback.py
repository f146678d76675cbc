"""Evaluating checkpoints while a TRL trainer runs (`harness train ... --eval-every N`).

At the start (step 0), every N optimiser steps and at the last step, the policy is saved to
`checkpoints/step-NNNNNN` (merged, with LoRA: a plain checkpoint `harness run` loads) and
handed to an evaluator that the job layer injects (harness/jobs/train_curves.py runs the
harness's own generation, scorers and judge on it). Evaluation never changes training:
the Python, NumPy and torch random states are restored after it, and its wall time is
counted apart. Steps already evaluated (a resumed run) are skipped.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Evaluate = Callable[[int, Path, Path], None]
"""(step, checkpoint directory, work directory) -> None; records its own results there."""


def step_name(step: int) -> str:
    """The directory name of a step's checkpoint (sorts in step order)."""
    return f"step-{step:06d}"


@dataclass
class CheckpointEvaluation:
    """The schedule and what it has done: which steps, where checkpoints go, time spent."""

    every: int
    evaluate: Evaluate
    recorded: Callable[[Path, int], set[int]]
    """(work directory, step training resumes from) -> the steps an interrupted run
    evaluated up to that step; it forgets (and removes) any later ones."""
    finish: Callable[[Path, list[dict[str, Any]], float], dict[str, Any]]
    """(work directory, the trainer's log history, training seconds without evaluation) ->
    the manifest's `evaluation` entry; writes curves.json and the report."""
    work: Path | None = None
    """The training's work directory (set when training starts)."""
    done: set[int] = field(default_factory=set)
    """Steps already evaluated."""
    describe: dict[str, Any] = field(default_factory=dict)
    """What a checkpoint's manifest.json says of how it was made (method, base, data)."""
    seconds: float = 0.0
    """Wall time spent saving and evaluating checkpoints (not training)."""
    offset: int = 0
    """Added to the trainer's step (CAI's second stage continues the first's count)."""
    staged: bool = False
    """Set by a method made of stages (CAI): checkpoints and records stay in the work
    directory it started with, each stage's logs are kept in `logs` (steps offset), and
    the method calls `finish` itself once every stage is done."""
    logs: list[dict[str, Any]] = field(default_factory=list)
    """The stages' trainer logs, with steps counted across stages."""

    def start(self, work: Path, resumed: int) -> None:
        """Training starts in `work` (at step `resumed`, when it resumes a saved state):
        checkpoints go there; what was evaluated up to that step is not evaluated again.
        A staged method's later stages keep the first work directory and its records."""
        if self.staged and self.work is not None:
            return
        self.work = work
        self.done = self.recorded(work, resumed)
        for old in (work / "checkpoints").glob("step-*"):
            if int(old.name.removeprefix("step-")) not in self.done:
                shutil.rmtree(old)  # from a trajectory that training will now redo

    def due(self, step: int, last: int) -> bool:
        return (step % self.every == 0 or step == last) and step + self.offset not in self.done

    def at(self, step: int, model: Any, tokenizer: Any, lora: bool) -> None:
        """Save the policy as it is at `step` and evaluate it, leaving training untouched."""
        import numpy as np
        import torch

        step += self.offset
        started = time.time()
        states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        assert self.work is not None, "start() comes before the first evaluation"
        try:
            target = self.work / "checkpoints" / step_name(step)
            if not (target / "config.json").is_file():
                self._save(target, step, model, tokenizer, lora)
            self.evaluate(step, target, self.work)
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])
        self.done.add(step)
        self.seconds += time.time() - started

    def _save(self, target: Path, step: int, model: Any, tokenizer: Any, lora: bool) -> None:
        import json

        work = target.with_name(f".{target.name}.partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        plain = copy.deepcopy(model).merge_and_unload() if lora else model
        plain.save_pretrained(work)
        tokenizer.save_pretrained(work)
        (work / "manifest.json").write_text(
            json.dumps({**self.describe, "steps": step}, indent=2) + "\n", encoding="utf-8"
        )
        os.replace(work, target)


def evaluation_callback(
    evaluation: CheckpointEvaluation, policy: Callable[[], Any], tokenizer: Any, lora: bool
) -> Any:
    """A `transformers.TrainerCallback` that runs `evaluation` on `policy()` when it is due."""
    from transformers import TrainerCallback

    class EvaluateCheckpoints(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == 0 and evaluation.due(0, state.max_steps):
                evaluation.at(0, policy(), tokenizer, lora)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if evaluation.due(state.global_step, state.max_steps):
                evaluation.at(state.global_step, policy(), tokenizer, lora)

    return EvaluateCheckpoints()
