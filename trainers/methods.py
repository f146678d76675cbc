"""Running a trainer by its method name: `harness train METHOD` and the pipeline come here.

SFT, reward model, DPO and PPO are one Method each (trainers/sft.py, reward_model.py,
dpo.py, ppo.py); Constitutional AI composes them (trainers/cai.py).
"""

from __future__ import annotations

from harness.core.errors import UserError
from harness.core.registry import lookup
from trainers import dpo, ppo, reward_model, sft
from trainers.config import TrainConfig
from trainers.method import Method, TrainResult, train_with

METHODS = (sft.SFT, reward_model.REWARD_MODEL, dpo.DPO, ppo.PPO)
"""The registered methods (importing their modules registers them)."""


def train_method(config: TrainConfig) -> TrainResult:
    """Train the single method `config.method` names (not CAI)."""
    method = lookup("trainer", str(config.model_dump().get("method")))
    if not isinstance(method, Method):
        raise UserError(f"trainer '{config.model_dump().get('method')}' is not a training method")
    return train_with(method, config)
