"""The registered training methods, and training one by its name.

SFT, reward model, DPO, PPO, GRPO, RLOO and online DPO are one Method each (trainers/sft.py,
reward_model.py, dpo.py, ppo.py, online_rl.py); Constitutional AI composes them (trainers/cai.py), and trainers/run.py
dispatches between the two.
"""

from __future__ import annotations

from harness.core.errors import UserError
from harness.core.registry import lookup
from trainers import dpo, online_rl, ppo, reward_model, sft
from trainers.config import TrainConfig
from trainers.eval_callback import CheckpointEvaluation
from trainers.method import Method, TrainResult, train_with

METHODS = (
    sft.SFT,
    reward_model.REWARD_MODEL,
    dpo.DPO,
    ppo.PPO,
    online_rl.GRPO,
    online_rl.RLOO,
    online_rl.ONLINE_DPO,
)
"""The registered methods (importing their modules registers them)."""


def train_method(
    config: TrainConfig, evaluation: CheckpointEvaluation | None = None
) -> TrainResult:
    """Train the single method `config.method` names (not CAI), evaluating checkpoints while
    it runs when `evaluation` is given."""
    name = str(config.model_dump().get("method"))
    method = lookup("trainer", name)
    if not isinstance(method, Method):
        raise UserError(f"trainer '{name}' is not a training method")
    if evaluation is not None and method.sequence_classifier:
        raise UserError(f"--eval-every: a {name} checkpoint does not generate; evaluate policies")
    return train_with(method, config, evaluation)
