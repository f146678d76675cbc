"""`harness train METHOD` and `harness pipeline` (train variants, evaluate, compare)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    split_values,
)
from harness.cli.progress_bar import BarProgress
from harness.core.errors import UserError


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
@app.command()
@user_errors
def train(
    method: Annotated[
        str, typer.Argument(help="sft, rm, dpo, ppo, grpo, rloo, online-dpo or cai.")
    ],
    data: Annotated[
        str | None,
        typer.Option(
            help="Required, here or in --config. hh-rlhf:PATH, hf:DATASET[:SPLIT], "
            "judgments:PATH, JSONL (prompt/chosen/rejected; messages for sft); ppo and cai also "
            "take any suite as prompts."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output checkpoint directory.")] = None,
    model: Annotated[str | None, typer.Option(help="Base model (default smollm2).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of options; flags override it.")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimiser steps (PPO: updates).")] = None,
    learning_rate: Annotated[float | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    max_length: Annotated[int | None, typer.Option(help="Tokens per example.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows of the data.")] = None,
    eval_fraction: Annotated[
        float | None, typer.Option(help="Share of rows held out for evaluation.")
    ] = None,
    lora: Annotated[
        bool | None, typer.Option("--lora/--no-lora", help="Train LoRA adapters.")
    ] = None,
    bf16: Annotated[bool | None, typer.Option("--bf16/--no-bf16")] = None,
    gradient_checkpointing: Annotated[
        bool | None, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing")
    ] = None,
    beta: Annotated[float | None, typer.Option(help="DPO: strength of the KL penalty.")] = None,
    loss_type: Annotated[
        str | None, typer.Option(help="DPO loss: sigmoid, ipo, robust, hinge, ... (TRL 1.12).")
    ] = None,
    label_smoothing: Annotated[
        float | None, typer.Option(help="DPO robust/cDPO: assumed share of flipped labels.")
    ] = None,
    robust_radius: Annotated[
        float | None,
        typer.Option(help="Robust DPO: minimise the worst case within this radius of each batch."),
    ] = None,
    robust_ball: Annotated[
        str | None,
        typer.Option(help="Robust DPO: 'kl' (KLDPO, reweight pairs) or 'wasserstein' (WDPO)."),
    ] = None,
    reward: Annotated[
        str | None,
        typer.Option(
            help="PPO, GRPO, RLOO, online DPO: reward-model directory, or scorers:NAME=WEIGHT,..."
        ),
    ] = None,
    kl_coef: Annotated[
        float | None, typer.Option(help="PPO, GRPO, RLOO: KL penalty coefficient.")
    ] = None,
    response_length: Annotated[
        int | None, typer.Option(help="PPO, GRPO, RLOO, online DPO: tokens sampled per rollout.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="PPO, GRPO, RLOO, online DPO: rollout temperature.")
    ] = None,
    num_generations: Annotated[
        int | None, typer.Option(help="GRPO, RLOO: rollouts per prompt (the group).")
    ] = None,
    rollout_engine: Annotated[
        str | None,
        typer.Option(help="GRPO, RLOO, online DPO: 'hf' (transformers generate) or 'vllm'."),
    ] = None,
    vllm_server_url: Annotated[
        str | None,
        typer.Option(help="With --rollout-engine vllm: a `trl vllm-serve` URL (else colocated)."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="PPO, GRPO, RLOO: judge for judge-backed reward scorers; online DPO without "
            "--reward: the pairwise judge that prefers one rollout; CAI: feedback model."
        ),
    ] = None,
    judge_template: Annotated[
        str | None, typer.Option(help="Online DPO: pairwise template of --judge (pairwise-v1).")
    ] = None,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float | None, JUDGE_TIMEOUT] = None,
    judge_max_retries: Annotated[int | None, JUDGE_MAX_RETRIES] = None,
    judge_concurrency: Annotated[int | None, JUDGE_CONCURRENCY] = None,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    constitution: Annotated[
        Path | None, typer.Option(help="CAI: YAML constitution (default: the project's).")
    ] = None,
    rl: Annotated[str | None, typer.Option(help="CAI stage 2: dpo (default) or ppo.")] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="CAI: tokens per answer, critique and revision.")
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    eval_every: Annotated[
        int | None,
        typer.Option(
            help="Evaluate the policy at step 0, every N steps and the last step "
            "(curves.json, report.html). sft, dpo, ppo, cai."
        ),
    ] = None,
    eval_suites: Annotated[
        list[str] | None,
        typer.Option("--eval-suite", help="Suite to evaluate checkpoints on. Repeatable."),
    ] = None,
    eval_scorers: Annotated[
        list[str] | None,
        typer.Option(
            "--eval-scorers",
            help="Scorers for the evaluations, comma-separated (default refusal,toxicity,diversity).",
        ),
    ] = None,
    eval_judge: Annotated[
        str | None, typer.Option(help="Judge each checkpoint against step 0 (openai:M, local:M).")
    ] = None,
    eval_judge_base_url: Annotated[
        str | None, typer.Option(help="Endpoint of an openai: --eval-judge.")
    ] = None,
    eval_judge_template: Annotated[
        str | None, typer.Option(help="Pairwise template of --eval-judge (pairwise-v1).")
    ] = None,
    eval_limit: Annotated[
        int | None, typer.Option(help="Evaluate on the first N prompts of each suite.")
    ] = None,
    eval_max_new_tokens: Annotated[
        int | None, typer.Option(help="Longest evaluation answer, in tokens (64).")
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            help="Choose a checkpoint: 'pareto', or e.g. 'harmful_compliance<=0.2,maximise:win_rate'."
        ),
    ] = None,
    lora_target_modules: Annotated[
        str | None,
        typer.Option(
            help="With --lora: 'all-linear' or comma-separated module names (default: peft's, "
            "q_proj,v_proj on Llama)."
        ),
    ] = None,
    lora_merge: Annotated[
        bool | None,
        typer.Option(
            "--lora-merge/--no-lora-merge",
            help="With --lora: merge the adapter into the weights (default) or save it alone "
            "for --adapter NAME=DIR.",
        ),
    ] = None,
    personas: Annotated[
        str | None,
        typer.Option(
            help="dpo --lora: train one adapter per persona of this file ('default': the "
            "built-in ones) on its own preferences from --judgments, into OUT/PERSONA."
        ),
    ] = None,
    judgments: Annotated[
        str | None,
        typer.Option(
            help="With --personas: a `harness compare --personas` output directory, or a JSONL "
            "file of persona, prompt, chosen, rejected."
        ),
    ] = None,
) -> None:
    """Train a checkpoint with TRL (SFT, reward model, DPO, PPO, Constitutional AI); writes
    DIR/manifest.json. Options a method does not take are refused. With --eval-every and
    --eval-suite, checkpoints are evaluated while training runs."""
    flags = {k: v for k, v in locals().items() if k not in {"method", "config"}}  # the flags
    from trainers.config import CONFIGS, build_config
    from trainers.run import train as run_training

    if method not in CONFIGS:
        raise UserError(f"unknown training method '{method}' (one of {', '.join(CONFIGS)})")
    if flags.get("eval_scorers"):
        flags["eval_scorers"] = list(split_values(flags["eval_scorers"]))
    personas, judgments = flags.pop("personas"), flags.pop("judgments")
    if personas is not None or judgments is not None:
        _persona_adapters(method, config, flags, personas, judgments)
        return
    built = build_config(method, config, **flags)
    if built.evaluation is not None:
        from harness.jobs.train_curves import train_with_curves

        with BarProgress(err) as progress:
            result = train_with_curves(
                built, log=lambda line: err.print(line, markup=False), progress=progress
            )
    else:
        result = run_training(built, log=lambda line: err.print(line, markup=False))
    shown = {
        k: round(v, 4)
        for k, v in result.metrics.items()
        if "/" in k or "loss" in k or "accuracy" in k
    }
    stdout.print(f"{result.steps} steps in {result.seconds:.0f} s; final metrics: {shown}")
    stdout.print(f"checkpoint: {result.out} (evaluate: harness run --model {result.out} ...)")
    if built.evaluation is not None:
        stdout.print(f"curves: {result.out / 'curves.json'}; report: {result.out / 'report.html'}")


def _persona_adapters(
    method: str,
    file: Path | None,
    flags: dict[str, object],
    personas: str | None,
    judgments: str | None,
) -> None:
    """`train dpo --lora --personas FILE --judgments SOURCE`: one adapter per persona."""
    from harness.jobs.persona_adapters import adapter_flags, train_persona_adapters
    from trainers.config import DPOTrainConfig, build_config

    if method != "dpo":
        raise UserError(f"--personas trains DPO adapters: use `train dpo`, not `train {method}`")
    if personas is None or judgments is None:
        raise UserError("--personas and --judgments go together")
    if flags.get("data") is None:  # each persona's preferences come from --judgments
        flags["data"] = judgments
    built = build_config(method, file, **flags)
    assert isinstance(built, DPOTrainConfig)
    payload = train_persona_adapters(
        built, personas, judgments, log=lambda line: err.print(line, markup=False)
    )
    for name, a in payload["adapters"].items():
        stdout.print(f"{name}: {a['pairs']} pairs, {a['steps']} steps -> {a['adapter']}")
    stdout.print("evaluate: harness compare --model base=MODEL " + " ".join(adapter_flags(payload)))


@app.command()
@user_errors
def pipeline(
    out: Annotated[Path, typer.Option(help="Output directory (models, runs, report).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="pipeline.yaml (default: harness/jobs/pipeline.yaml)."),
    ] = None,
) -> None:
    """Train DPO, PPO and Constitutional AI variants of one base model, evaluate them all on
    the same suites, judge win rates against the base, and write one comparison report.
    Re-running the same command resumes: finished stages are kept."""
    from harness.jobs.pipeline import pipeline as run_pipeline

    with BarProgress(err) as progress:
        payload = run_pipeline(
            config, out, progress=progress, log=lambda line: err.print(line, markup=False)
        )
    stdout.print(
        f"{len(payload['rows'])} models in {payload['seconds']['total']:.0f} s; "
        f"report: {out / 'report.html'} (also pipeline.json, summary.md)"
    )
