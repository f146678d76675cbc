"""Training by config: Constitutional AI, which composes the other methods, or one method."""

from __future__ import annotations

from trainers.cai import train_cai
from trainers.common import Log
from trainers.config import CAITrainConfig, TrainConfig
from trainers.eval_callback import CheckpointEvaluation
from trainers.method import TrainResult
from trainers.methods import train_method


def train(
    config: TrainConfig,
    log: Log = lambda _: None,
    evaluation: CheckpointEvaluation | None = None,
) -> TrainResult:
    """Train `config.method` and write the checkpoint and manifest to `config.out`; CAI
    reports its stages to `log`. `evaluation` (built by harness/jobs/train_curves.py from
    `config.evaluation`) evaluates checkpoints while training runs."""
    if isinstance(config, CAITrainConfig):
        return train_cai(config, log, evaluation)
    return train_method(config, evaluation)
