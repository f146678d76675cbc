"""GRPO, RLOO and online DPO on TRL 1.12's trainers: rollouts sampled from the policy as it
trains (by transformers' `generate`, or by vLLM with `rollout_engine: vllm`), scored by a
reward-model directory, harness scorers or (online DPO) a pairwise judge.

    harness train grpo --data helpful-smoke --reward scorers:length=-0.05 --max-steps 20 --out runs/grpo
    harness train rloo --data hh-rlhf:PATH --reward runs/rm --out runs/rloo
    harness train online-dpo --data hh-rlhf:PATH --judge openai:gpt-4o --out runs/odpo

Prompts longer than `max_length - response_length` tokens are left out (as PPO does).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, UserError
from harness.core.registry import register
from judges.base import ScorerContext
from trainers.common import common_args, peft_config, trl_experimental, trl_module
from trainers.config import (
    SCORERS_PREFIX,
    GRPOTrainConfig,
    OnlineDPOTrainConfig,
    OnlineRLTrainConfig,
    RLOOTrainConfig,
)
from trainers.data import load_prompts
from trainers.method import Method
from trainers.reward_functions import JudgePreference, ScorerRewardFunction
from trainers.rollout_clock import clock_rollouts


def rollout_args(config: OnlineRLTrainConfig) -> dict[str, Any]:
    """TRL's arguments for who samples the rollouts. vLLM is imported lazily, and its absence
    is a clear error before any model is loaded."""
    if config.rollout_engine == "hf":
        return {"use_vllm": False}
    if importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError(
            "vllm",
            "--rollout-engine vllm",
            "pip install vllm (on a CUDA machine; on CPU see docs/online-rl.md)",
        )
    if config.vllm_server_url:
        return {
            "use_vllm": True,
            "vllm_mode": "server",
            "vllm_server_base_url": config.vllm_server_url,
        }
    import torch

    if not torch.cuda.is_available() and not VLLM_CPU_WEIGHTS_KEPT:
        raise UserError(VLLM_ON_CPU)
    return {"use_vllm": True, "vllm_mode": "colocate"}


VLLM_ON_CPU = (
    "--rollout-engine vllm needs a GPU here: on CPU, vLLM prepacks each linear layer's weights "
    "into a oneDNN kernel and drops the weight tensors, so TRL cannot copy the policy's "
    "updated weights into it after each step (its sync fails with \"'Parameter' object has no "
    "attribute 'weight_loader'\"); use --rollout-engine hf on CPU (docs/online-rl.md has the "
    "measurements)"
)
"""Why colocated vLLM rollouts stop on a CPU (vllm-cpu 0.27.1 with TRL 1.12; TRL 1.12's
trainers cannot even be imported beside vllm-cpu 0.32)."""

VLLM_CPU_WEIGHTS_KEPT = False
"""Set by a caller that has made vLLM's CPU backend keep its weight tensors (plain
`torch.nn.functional.linear`, no prepacking), so TRL's weight sync works on CPU:
`benchmarks/rollout_share.py --cpu-keep-weights` does both, to measure vLLM rollouts here."""


def prompt_rows(
    config: OnlineRLTrainConfig, tokenizer: Any, prompts: list[Any]
) -> list[dict[str, Any]]:
    """Conversational prompts that leave room for a full rollout within `max_length`."""
    rows = []
    for chat in prompts:
        messages = [m.model_dump() for m in chat]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
        if len(ids) + config.response_length <= config.max_length:
            rows.append({"prompt": messages})
    if len(rows) < config.batch_size:
        raise UserError(
            f"--data {config.data}: only {len(rows)} prompts fit --max-length {config.max_length} "
            f"with --response-length {config.response_length}; {config.method} needs at least "  # type: ignore[attr-defined]
            f"--batch-size {config.batch_size}"
        )
    return rows


def reward_functions(config: OnlineRLTrainConfig) -> list[Any]:
    """The reward TRL calls: harness scorers, a reward-model directory, or (online DPO
    without a reward) the pairwise judge."""
    context = ScorerContext(
        judge=config.judge, judge_base_url=config.judge_base_url, judge_client=config.judge_client
    )
    if config.reward is None:
        assert isinstance(config, OnlineDPOTrainConfig) and config.judge is not None
        from judges.llm.client import Endpoint
        from judges.llm.template import load_template
        from judges.panel.spec import build_any_judge

        template = load_template(config.judge_template)
        if template.config.kind != "pairwise":
            raise UserError(f"--judge-template {config.judge_template}: not a pairwise template")
        judge = build_any_judge(
            [config.judge], template, None, Endpoint(config.judge_base_url, config.judge_client)
        )
        return [JudgePreference(judge)]
    if config.reward.startswith(SCORERS_PREFIX):
        return [ScorerRewardFunction(config.reward, context)]
    return [str(Path(config.reward))]


def _batches(config: OnlineRLTrainConfig, per_prompt: int) -> dict[str, Any]:
    """`batch_size` prompts per step: TRL's batch sizes count completions."""
    return {
        "per_device_train_batch_size": config.batch_size * per_prompt,
        "per_device_eval_batch_size": config.batch_size * per_prompt,
    }


def _trainer(
    trainer_class: Any, config: Any, model: Any, tokenizer: Any, prompts: list[Any], args: Any
) -> Any:
    """A TRL online trainer on `prompts`, rewarded by `reward_functions(config)`."""
    from datasets import Dataset

    return trainer_class(
        model=model,
        reward_funcs=reward_functions(config),
        args=args,
        train_dataset=Dataset.from_list(prompt_rows(config, tokenizer, prompts)),
        processing_class=tokenizer,
        peft_config=peft_config(config, "CAUSAL_LM"),
    )


def _group_method(name: str) -> Callable[..., tuple[Any, list[Any]]]:
    """The builder of TRL's `{name}Trainer` (GRPO, RLOO): the two take the same arguments and
    differ only in how a rollout's reward becomes its advantage (against its group's mean
    and spread; against the mean of its prompt's other rollouts)."""

    def build(
        config: GRPOTrainConfig | RLOOTrainConfig,
        model: Any,
        tokenizer: Any,
        base: Path,
        prompts: list[Any],
    ) -> tuple[Any, list[Any]]:
        trl = trl_module()
        args = getattr(trl, f"{name}Config")(
            **{**common_args(config), **_batches(config, config.num_generations)},
            num_generations=config.num_generations,
            max_completion_length=config.response_length,
            temperature=config.temperature,
            beta=config.kl_coef,
            **rollout_args(config),
        )
        trainer = _trainer(getattr(trl, f"{name}Trainer"), config, model, tokenizer, prompts, args)
        clock_rollouts(trainer, "_generate_single_turn")
        return trainer, []  # no held-out rows: the effect is measured by evaluation

    build.__doc__ = f"TRL's {name}Trainer for `config`."
    return build


build_grpo = _group_method("GRPO")
build_rloo = _group_method("RLOO")


def build_online_dpo(
    config: OnlineDPOTrainConfig, model: Any, tokenizer: Any, base: Path, prompts: list[Any]
) -> tuple[Any, list[Any]]:
    """TRL's OnlineDPOTrainer (`trl.experimental.online_dpo`): two rollouts per prompt."""
    odpo = trl_experimental("online_dpo", "harness train online-dpo")
    args = odpo.OnlineDPOConfig(
        **{**common_args(config), **_batches(config, 1)},
        max_new_tokens=config.response_length,
        max_length=config.max_length,
        temperature=config.temperature,
        beta=[config.beta],
        missing_eos_penalty=None,
        **rollout_args(config),
    )
    trainer = _trainer(odpo.OnlineDPOTrainer, config, model, tokenizer, prompts, args)
    clock_rollouts(trainer, "_generate_vllm" if args.use_vllm else "_generate")
    return trainer, []


def reward_metrics(trainer: Any) -> dict[str, float]:
    """What TRL does not log: the time spent generating rollouts (trainers/rollout_clock.py);
    rollouts the scorers could not score; a judge's ties and pairs without a verdict (which
    TRL's online DPO trains on as if the first rollout won)."""
    found: dict[str, float] = {}
    clock = getattr(trainer, "rollout_clock", None)
    if clock is not None:
        found.update(clock.metrics())
    for func in getattr(trainer, "reward_funcs", []):
        if isinstance(func, ScorerRewardFunction):
            found["reward/unscored"] = float(func.unscored)
        if isinstance(func, JudgePreference):
            found.update(func.metrics())
    return found


def _prompts(config: Any) -> list[Any]:
    """The training prompts, after checking the rollout engine can run (before any model
    loads)."""
    rollout_args(config)
    return load_prompts(config.data, config.limit)


GRPO = register("trainer", "grpo")(
    Method("grpo", False, build_grpo, _prompts, extra_metrics=reward_metrics)
)
RLOO = register("trainer", "rloo")(
    Method("rloo", False, build_rloo, _prompts, extra_metrics=reward_metrics)
)
ONLINE_DPO = register("trainer", "online-dpo")(
    Method("online-dpo", False, build_online_dpo, _prompts, extra_metrics=reward_metrics)
)
