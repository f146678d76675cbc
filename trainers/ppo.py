"""PPO-RLHF with TRL 1.12's `trl.experimental.ppo` (removed from TRL in 1.13; this is the
only file that touches it): policy, frozen reference, value model and a reward.

    harness train rm --data hh-rlhf:../shared/data/hh-rlhf/harmless-base-test.jsonl.gz --out runs/rm
    harness train ppo --data hh-rlhf:../shared/data/hh-rlhf/harmless-base-test.jsonl.gz \\
        --reward runs/rm --kl-coef 0.05 --max-steps 20 --out runs/ppo

The reward is a reward-model directory or harness scorers (`trainers.rewards`). The value
model starts from the reward model when there is one (as TRL's examples do), else from the
base model with a fresh scalar head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.registry import register
from judges.base import ScorerContext
from trainers.common import common_args, peft_config, trl_experimental
from trainers.config import SCORERS_PREFIX, PPOTrainConfig
from trainers.data import load_prompts
from trainers.method import Method
from trainers.rewards import ScorerReward, load_reward_model


def distinct_pad_token(tokenizer: Any, models: list[Any]) -> None:
    """PPO finds response ends by the pad token, so pad must differ from end-of-turn: use the
    tokenizer's unknown token when it has one, else add a pad token and grow the embeddings."""
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return
    if tokenizer.unk_token is not None and tokenizer.unk_token_id != tokenizer.eos_token_id:
        tokenizer.pad_token = tokenizer.unk_token
    else:
        tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
        for model in models:
            model.resize_token_embeddings(len(tokenizer))
    for model in models:
        model.config.pad_token_id = tokenizer.pad_token_id


def _ppo_args(ppo: Any, config: PPOTrainConfig) -> Any:
    """TRL's PPOConfig for `config` (`max_steps` PPO updates). TRL's PPO cannot resume from
    a saved state, so it saves none (an interrupted run with evaluation starts afresh)."""
    return ppo.PPOConfig(
        **{**common_args(config), "save_strategy": "no"},
        total_episodes=config.max_steps * config.batch_size * config.gradient_accumulation_steps,
        response_length=config.response_length,
        temperature=config.temperature,
        kl_coef=config.kl_coef,
        num_ppo_epochs=config.num_ppo_epochs,
        num_mini_batches=config.num_mini_batches,
        missing_eos_penalty=config.missing_eos_penalty,
        local_rollout_forward_batch_size=config.batch_size,
        stop_token="eos",
        num_sample_generations=0,
    )


def build_ppo(
    config: PPOTrainConfig, model: Any, tokenizer: Any, base: Path, prompts: list[Any]
) -> tuple[Any, list[Any]]:
    """TRL's PPOTrainer for `config` (no held-out rows: PPO has no evaluation loss)."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification

    ppo = trl_experimental("ppo", "harness train ppo")
    reward_is_model = not config.reward.startswith(SCORERS_PREFIX)
    value_model = AutoModelForSequenceClassification.from_pretrained(
        config.reward if reward_is_model else base, num_labels=1, dtype=model.dtype
    )
    encoded = [
        tokenizer.apply_chat_template(
            [m.model_dump() for m in chat], add_generation_prompt=True, return_dict=False
        )
        for chat in prompts
    ]
    context = ScorerContext(
        judge=config.judge, judge_base_url=config.judge_base_url, judge_client=config.judge_client
    )
    reward_model = load_reward_model(config.reward, prompts, encoded, tokenizer, context)
    tokenizer.padding_side = "left"
    neural = [model, value_model] + ([reward_model] if reward_is_model else [])
    distinct_pad_token(tokenizer, neural)
    rows = [
        {"input_ids": ids}
        for ids in encoded
        if len(ids) + config.response_length <= config.max_length
    ]
    if len(rows) < config.batch_size:
        raise UserError(
            f"--data {config.data}: only {len(rows)} prompts fit --max-length {config.max_length} "
            f"with --response-length {config.response_length}; PPO needs at least --batch-size "
            f"{config.batch_size}"
        )
    args = _ppo_args(ppo, config)
    dataset = Dataset.from_list(rows)
    trainer = ppo.PPOTrainer(
        args=args,
        processing_class=tokenizer,
        model=model,
        ref_model=None,  # a frozen copy of the policy (or the adapter disabled, with LoRA)
        reward_model=reward_model,
        value_model=value_model,
        train_dataset=dataset,
        eval_dataset=dataset,  # TRL only samples from it, and sampling is off
        peft_config=peft_config(config, "CAUSAL_LM"),
    )
    return trainer, []


def ppo_policy(trainer: Any) -> Any:
    """The trained policy (without the value model TRL wraps it with)."""
    return trainer.policy_model


def ppo_metrics(trainer: Any) -> dict[str, float]:
    """What TRL does not log: rollouts a reward scorer could not score (counted as 0)."""
    if isinstance(trainer.reward_model, ScorerReward):
        return {"reward/unscored": float(trainer.reward_model.unscored)}
    return {}


PPO = register("trainer", "ppo")(
    Method(
        "ppo",
        False,
        build_ppo,
        lambda c: load_prompts(c.data, c.limit),
        ppo_policy,
        ppo_metrics,
    )
)
