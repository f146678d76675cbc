"""Typed training configs, validated at the edge (CLI flags or a YAML file).

CPU defaults suit the embedded SmolLM2-135M (fp32, short sequences, batch 2); for a 7B
model on a GPU pass `--lora --bf16 --gradient-checkpointing` and larger step counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.core.errors import InputError
from harness.core.io import read_yaml
from judges.llm.client import JudgeClient

DPO_LOSSES = (
    "sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard",
    "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm",
)  # fmt: skip
"""TRL 1.12's DPO loss types; `robust` is Robust DPO (Chowdhury et al., 2024), with
`label_smoothing` as the assumed rate of flipped preference labels."""


class InTrainingEval(BaseModel):
    """Evaluation of checkpoints while training runs (`--eval-every N --eval-suite S`): the
    starting policy, every N steps and the last step are saved and run through the
    harness's own evaluation (greedy, fixed seed), scored, and with a judge set judged
    against the starting policy."""

    model_config = ConfigDict(extra="forbid")
    every: int = Field(ge=1)
    """Evaluate every N optimiser steps (PPO: updates), and at step 0 and the last step."""
    suites: list[str] = Field(min_length=1)
    scorers: list[str] = Field(default_factory=lambda: ["refusal", "toxicity", "diversity"])
    judge: str | None = None
    """Pairwise judge of each checkpoint against the starting policy (position-swapped)."""
    judge_base_url: str | None = None
    judge_template: str = "pairwise-v1"
    limit: int | None = Field(default=None, ge=1)
    """Only the first N prompts of each suite."""
    max_new_tokens: int = Field(default=64, ge=1)
    select: str | None = None
    """`pareto`, or a rule such as `harmful_compliance<=0.2,maximise:win_rate`
    (harness.stats.selection)."""

    @field_validator("select")
    @classmethod
    def _select_parses(cls, select: str | None) -> str | None:
        if select is not None:
            from harness.stats.selection import parse_rule

            parse_rule(select)  # a ValueError names the bad term
        return select


class TrainConfig(BaseModel):
    """What every trainer takes."""

    model_config = ConfigDict(extra="forbid")
    model: str = "smollm2"
    """Base model: `smollm2`, a local checkpoint directory, or a hub id."""
    data: str
    """Training data source (see trainers.data)."""
    out: Path
    """Output directory: a transformers checkpoint plus manifest.json."""
    max_steps: int = Field(default=20, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0)
    batch_size: int = Field(default=2, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=128, ge=16)
    limit: int | None = Field(default=None, ge=1)
    """Use only the first N rows of the data."""
    eval_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)
    """Share of rows held out for evaluation (the reward model reports its accuracy there)."""
    lora: bool = False
    lora_r: int = Field(default=16, ge=1)
    lora_target_modules: str | None = None
    """With `lora`: the modules adapted, `all-linear` or comma-separated names (None: peft's
    default for the architecture, the attention's q_proj and v_proj on Llama/SmolLM2)."""
    lora_merge: bool = True
    """With `lora`: save the adapter merged into the weights (a plain checkpoint), or alone
    (False: `harness run|compare --adapter NAME=DIR` applies it on its base unmerged)."""
    bf16: bool = False
    gradient_checkpointing: bool = False
    seed: int = 0
    evaluation: InTrainingEval | None = None
    """Evaluate checkpoints while training (curves.json and report.html beside the model)."""


class SFTTrainConfig(TrainConfig):
    method: Literal["sft"] = "sft"


class RewardTrainConfig(TrainConfig):
    method: Literal["rm"] = "rm"
    learning_rate: float = Field(default=1e-4, gt=0)


class DPOTrainConfig(TrainConfig):
    method: Literal["dpo"] = "dpo"
    beta: float = Field(default=0.1, gt=0)
    loss_type: str = "sigmoid"
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=0.5)
    """For `robust` (and `sigmoid` with conservative DPO): assumed share of flipped labels."""
    robust_radius: float = Field(default=0.0, ge=0.0)
    """Distributionally robust DPO (trainers/robust_dpo.py): minimise the worst case over a
    ball of this radius around each batch; 0 is standard DPO. Needs loss_type sigmoid."""
    robust_ball: Literal["kl", "wasserstein"] = "kl"
    """KLDPO (reweighting pairs within a KL ball) or WDPO (moving inputs within a
    Wasserstein-2 ball, via its gradient-norm penalty)."""

    def model_post_init(self, context: object) -> None:
        if self.loss_type not in DPO_LOSSES:
            raise ValueError(f"loss_type must be one of {', '.join(DPO_LOSSES)}")
        if self.robust_radius > 0 and self.loss_type != "sigmoid":
            raise ValueError("robust DPO works on the sigmoid loss: use loss_type sigmoid")


SCORERS_PREFIX = "scorers:"
"""A PPO reward made of harness scorers: `scorers:NAME=WEIGHT,...`."""


class PPOTrainConfig(TrainConfig):
    """PPO (TRL 1.12's `trl.experimental.ppo`): policy, frozen reference, value model and a
    reward. `max_steps` counts PPO updates (each one rollout batch of `batch_size` prompts)."""

    method: Literal["ppo"] = "ppo"
    learning_rate: float = Field(default=1e-5, gt=0)
    reward: str
    """A reward-model directory (`harness train rm`), or `scorers:NAME=WEIGHT,...`: a weighted
    sum of harness scorers' per-item values (e.g. `scorers:judge-score=1,toxicity=-2`)."""
    kl_coef: float = Field(default=0.05, ge=0)
    """Weight of the per-token KL penalty against the reference policy."""
    response_length: int = Field(default=48, ge=1)
    """Tokens sampled per rollout."""
    temperature: float = Field(default=0.7, gt=0)
    """Rollout sampling temperature."""
    num_ppo_epochs: int = Field(default=1, ge=1)
    num_mini_batches: int = Field(default=1, ge=1)
    missing_eos_penalty: float | None = Field(default=1.0, ge=0)
    """Subtracted from the reward of rollouts that never end their turn (None: off)."""
    judge: str | None = None
    """Judge spec for judge-backed reward scorers (`openai:MODEL`, `local:MODEL`)."""
    judge_base_url: str | None = None
    judge_client: JudgeClient = Field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""

    @field_validator("reward")
    @classmethod
    def _reward_exists(cls, reward: str) -> str:
        if not reward.startswith(SCORERS_PREFIX) and not (Path(reward) / "config.json").is_file():
            raise ValueError(
                f"{reward} is not a reward-model directory (train one with `harness train rm`) "
                "nor scorers:NAME=WEIGHT,..."
            )
        return reward


class OnlineRLTrainConfig(TrainConfig):
    """What GRPO, RLOO and online DPO share (TRL 1.12's trainers): rollouts sampled from the
    policy as it trains, scored by a reward, with a KL penalty toward the starting policy.
    `batch_size` counts prompts per optimiser step; each gets `num_generations` rollouts."""

    learning_rate: float = Field(default=1e-5, gt=0)
    reward: str | None = None
    """A reward-model directory (`harness train rm`), or `scorers:NAME=WEIGHT,...` (a
    weighted sum of harness scorers' per-item values; judge-backed scorers use `judge`)."""
    kl_coef: float = Field(default=0.05, ge=0)
    """Weight of the KL penalty toward the starting policy (TRL's `beta`)."""
    response_length: int = Field(default=48, ge=1)
    """Tokens sampled per rollout."""
    temperature: float = Field(default=1.0, gt=0)
    """Rollout sampling temperature."""
    num_generations: int = Field(default=4, ge=2)
    """Rollouts per prompt (GRPO/RLOO's group; online DPO always samples two)."""
    rollout_engine: Literal["hf", "vllm"] = "hf"
    """Who samples the rollouts: transformers' `generate` in the training process, or vLLM
    (TRL's `use_vllm`; colocated, or a `trl vllm-serve` server at `vllm_server_url`)."""
    vllm_server_url: str | None = None
    """With `rollout_engine: vllm`: a running `trl vllm-serve` (else vLLM runs colocated)."""
    judge: str | None = None
    """Judge spec for judge-backed reward scorers (online DPO without `reward`: the pairwise
    judge that picks the preferred rollout)."""
    judge_base_url: str | None = None
    judge_client: JudgeClient = Field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""

    @field_validator("reward")
    @classmethod
    def _reward_exists(cls, reward: str | None) -> str | None:
        if reward is None:
            return None
        return PPOTrainConfig._reward_exists(reward)

    def model_post_init(self, context: object) -> None:
        if self.reward is None:
            name = getattr(self, "method", "this method")
            raise ValueError(
                f"{name} needs a reward: a reward-model directory or scorers:NAME=WEIGHT,..."
            )


class GRPOTrainConfig(OnlineRLTrainConfig):
    """Group relative policy optimisation (TRL's GRPOTrainer): each prompt's rollouts are
    scored and each one's advantage is its reward against its group's mean."""

    method: Literal["grpo"] = "grpo"


class RLOOTrainConfig(OnlineRLTrainConfig):
    """REINFORCE leave-one-out (TRL's RLOOTrainer): each rollout's baseline is the mean
    reward of the other rollouts of its prompt."""

    method: Literal["rloo"] = "rloo"


class OnlineDPOTrainConfig(OnlineRLTrainConfig):
    """Online DPO (TRL 1.12's `trl.experimental.online_dpo`): two rollouts per prompt, the
    preferred one chosen by the reward or, without one, by a pairwise judge (both orders)."""

    method: Literal["online-dpo"] = "online-dpo"
    beta: float = Field(default=0.1, gt=0)
    """DPO's beta (online DPO has no separate KL penalty: `kl_coef` is not used)."""
    judge_template: str = "pairwise-v1"
    """Pairwise template of the preference judge (pairwise-logprob-v1 for a local judge)."""

    def model_post_init(self, context: object) -> None:
        if self.reward is None and self.judge is None:
            raise ValueError(
                "online-dpo needs a preference source: --reward (a reward-model directory or "
                "scorers:NAME=WEIGHT,...) or --judge (a pairwise judge)"
            )


class CAITrainConfig(TrainConfig):
    """Constitutional AI: SL-CAI (critique -> revision -> SFT), then RL-CAI on AI feedback.

    `data` gives red-team prompts (any suite, `hh-rlhf:PATH` or a preference JSONL);
    `max_steps` applies to each training stage."""

    method: Literal["cai"] = "cai"
    constitution: Path | None = None
    """YAML file of principles (default: trainers/constitution.yaml)."""
    judge: str | None = None
    """Feedback model for RL-CAI (default `local:` + the SL-CAI checkpoint, as in the paper
    the model labels its own samples). Any `openai:` endpoint works."""
    judge_base_url: str | None = None
    judge_client: JudgeClient = Field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    max_new_tokens: int = Field(default=64, ge=1)
    """Token budget for each answer, critique and revision."""
    revisions: int = Field(default=1, ge=1)
    """Critique-revision rounds per prompt (each with a freshly sampled principle)."""
    sample_temperature: float = Field(default=1.0, gt=0)
    """Temperature of the two RL-CAI samples per prompt."""
    rl: Literal["dpo", "ppo"] = "dpo"
    """Stage 2: DPO on the AI preferences, or a reward model trained on them plus PPO."""
    beta: float = Field(default=0.1, gt=0)
    """DPO beta for stage 2."""
    kl_coef: float = Field(default=0.05, ge=0)
    """PPO KL coefficient for stage 2 with `rl: ppo`."""


CONFIGS: dict[str, type[TrainConfig]] = {
    "sft": SFTTrainConfig,
    "rm": RewardTrainConfig,
    "dpo": DPOTrainConfig,
    "ppo": PPOTrainConfig,
    "grpo": GRPOTrainConfig,
    "rloo": RLOOTrainConfig,
    "online-dpo": OnlineDPOTrainConfig,
    "cai": CAITrainConfig,
}


JUDGE_CLIENT_FLAGS = ("judge_timeout", "judge_max_retries", "judge_concurrency", "judge_max_tokens")
"""The judge-client flags, gathered into the config's `judge_client`."""


def build_config(method: str, file: Path | None, **flags: object) -> TrainConfig:
    """A method's config from an optional YAML file, overridden by the flags that were set."""
    values: dict[str, object] = {}
    if file is not None:
        loaded = read_yaml(file) or {}
        if not isinstance(loaded, dict):
            raise InputError(file, "the config must be a mapping of option: value")
        values.update(loaded)
    client = {
        k.removeprefix("judge_"): flags.pop(k)
        for k in JUDGE_CLIENT_FLAGS
        if flags.get(k) is not None
    }
    eval_flags = [k for k in flags if k.startswith("eval_") and k != "eval_fraction"]
    evaluation = {
        k.removeprefix("eval_"): v
        for k in eval_flags
        if (v := flags.pop(k)) is not None and v != []
    }
    if (rule := flags.pop("select", None)) is not None:
        evaluation["select"] = rule
    values.update({k: v for k, v in flags.items() if v is not None})
    if evaluation:  # --eval-every etc. override the file's evaluation entries
        given = values.get("evaluation")
        values["evaluation"] = {**(given if isinstance(given, dict) else {}), **evaluation}
    if client:  # --judge-timeout etc. override the file's judge_client entries
        given = values.get("judge_client")
        values["judge_client"] = {**(given if isinstance(given, dict) else {}), **client}
    try:
        return CONFIGS[method].model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        if first["type"] == "extra_forbidden":
            raise InputError(
                file or "--flags", f"not an option of `harness train {method}`", field=field
            ) from None
        raise InputError(file or "--flags", first["msg"], field=field) from None
