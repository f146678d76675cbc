"""`harness pipeline`: the seed's lab end to end. From one base model and one preference
data set, train DPO, PPO-RLHF (reward model, then PPO) and Constitutional AI variants,
evaluate each of them and the base on the same suites (harmful compliance, over-refusal,
toxicity, diversity), judge helpfulness win rates against the base, and write one
comparison report.

    harness pipeline --config harness/jobs/pipeline.yaml --out runs/pipeline

Resumable: a finished stage (a checkpoint with its manifest, a run with its summary) is kept
and skipped when the same command runs again; an unfinished checkpoint never reached its
place (trainers write into a work directory renamed when done) and is trained anew, and
generations and judgments come back from the results store. The same config scales to a 7B
model on a GPU by changing `base`, the step counts and `train.common` (`lora`, `bf16`).
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.core.atomic import write_text_atomic
from harness.core.errors import InputError, UserError
from harness.core.progress import Progress, SilentProgress
from harness.core.records import GenerationParams
from harness.core.validation import load_yaml_model
from judges.llm.client import JudgeClient
from trainers.common import Log

Method = Literal["dpo", "ppo", "cai"]


class EvalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suites: list[str] = Field(default=["harmful-smoke", "overrefusal-smoke", "helpful-smoke"])
    limit: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=128, ge=1)
    scorers: list[str] = Field(default=["refusal", "toxicity", "diversity"])


class CompareOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suites: list[str] = Field(default=["helpful-smoke"])
    judge: str = "local:smollm2"
    """The embedded model is a useless judge: replace it with a real one for numbers that
    mean anything (e.g. openai:gpt-4o, or a vllm serve endpoint with judge_base_url), or a
    panel file (judges/panel/spec.py)."""
    judge_base_url: str | None = None
    judge_client: JudgeClient = Field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    template: str = "pairwise-logprob-v1"
    limit: int | None = Field(default=None, ge=1)


class CurvesOptions(BaseModel):
    """Evaluate every variant's checkpoints while it trains (as `harness train
    --eval-every`), on the `eval` suites and scorers, and overlay the curves in the report."""

    model_config = ConfigDict(extra="forbid")
    every: int = Field(ge=1)
    judge: bool = False
    """Also judge each checkpoint against its starting policy with the `compare` judge."""


class PipelineConfig(BaseModel):
    """`pipeline.yaml`."""

    model_config = ConfigDict(extra="forbid")
    base: str = "smollm2"
    """Base model every variant starts from."""
    data: str
    """Preference data every variant trains on (any `harness train` source)."""
    limit: int | None = Field(default=300, ge=1)
    """Preference pairs used for training."""
    methods: list[Method] = Field(default=["dpo", "ppo", "cai"], min_length=1)
    train: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Options per method (`dpo`, `rm`, `ppo`, `cai`) over `common`, as `harness train` takes."""
    cai_prompts: int = Field(default=24, ge=2)
    """Red-team prompts (the data's prompts) for Constitutional AI."""
    eval: EvalOptions = Field(default_factory=EvalOptions)
    compare: CompareOptions = Field(default_factory=CompareOptions)
    curves: CurvesOptions | None = None
    """In-training evaluation of every variant (off by default: it adds an evaluation per
    `every` steps to each variant's training)."""


def _evaluation(config: PipelineConfig) -> dict[str, Any] | None:
    """The `evaluation` option a variant's training takes, from `curves`, `eval`, `compare`."""
    if config.curves is None:
        return None
    judged = config.curves.judge
    return {
        "every": config.curves.every,
        "suites": config.eval.suites,
        "scorers": config.eval.scorers,
        "limit": config.eval.limit,
        "max_new_tokens": config.eval.max_new_tokens,
        "judge": config.compare.judge if judged else None,
        "judge_base_url": config.compare.judge_base_url if judged else None,
        "judge_template": config.compare.template,
    }


def default_config_path() -> Path:
    return Path(str(resources.files("harness.jobs") / "pipeline.yaml"))


def load_pipeline_config(path: Path | None) -> PipelineConfig:
    return load_yaml_model(path or default_config_path(), PipelineConfig)


def _stage_options(config: PipelineConfig, method: str) -> dict[str, Any]:
    return {**config.train.get("common", {}), **config.train.get(method, {})}


def check_before_training(config: PipelineConfig) -> None:
    """Everything the stages will need, checked before the first one trains: every training
    stage's options, the data, the suites, the scorers, the compare judge and template (a
    typo there would otherwise surface after an hour of training)."""
    from judges.llm.backends import backend_from_spec
    from judges.llm.template import load_template
    from judges.panel.spec import panel_spec
    from judges.scorers.factory import lookup_scorer
    from suites import load_suites
    from trainers.config import build_config
    from trainers.data import load_pairs

    base = {"model": config.base, "data": config.data, "limit": config.limit, "out": Path(".")}
    for method in config.methods:
        stages = ["rm", "ppo"] if method == "ppo" else [method]
        for stage in stages:
            # The reward model PPO uses is trained by the pipeline itself: stand in for it.
            extra: dict[str, Any] = {"reward": "scorers:refusal=1"} if stage == "ppo" else {}
            if stage != "rm" and config.curves is not None:
                extra["evaluation"] = _evaluation(config)
            try:
                build_config(stage, None, **{**base, **_stage_options(config, stage), **extra})
            except InputError as e:
                where = f"train.{stage}" + (f".{e.field}" if e.field else "")
                raise InputError("pipeline config", e.detail, field=where) from None
    load_pairs(config.data, config.limit)
    load_suites(config.eval.suites)
    load_suites(config.compare.suites)
    for name in config.eval.scorers:
        lookup_scorer(name)
    panel = panel_spec([config.compare.judge])  # a panel file is checked member by member
    for spec in [m.judge for m in panel.members] if panel else [config.compare.judge]:
        backend_from_spec(spec, base_url=config.compare.judge_base_url)
    template = load_template(config.compare.template)
    if template.config.kind != "pairwise":
        raise UserError(
            f"compare.template: '{config.compare.template}' is a {template.config.kind} "
            "template; the pipeline's comparison needs a pairwise one"
        )


def _train_stage(
    config: PipelineConfig, method: str, out: Path, log: Log, **extra: Any
) -> dict[str, Any]:
    """Train one variant unless its finished checkpoint is there (with its checkpoints
    evaluated as it trains, under `curves`); returns its manifest."""
    from harness.jobs.train_curves import train_with_curves
    from trainers.config import build_config
    from trainers.run import train

    manifest_path = out / "manifest.json"
    if manifest_path.is_file():
        log(f"{method}: finished earlier, kept ({out})")
        return dict(json.loads(manifest_path.read_text(encoding="utf-8")))
    options = {
        "model": config.base,
        "data": config.data,
        "limit": config.limit,
        **_stage_options(config, method),
        **extra,
        "out": out,
    }
    if method != "rm" and (evaluation := _evaluation(config)) is not None:
        options["evaluation"] = evaluation
    settings = build_config(method, None, **options)
    log(f"{method}: training ({settings.max_steps} steps)")
    if settings.evaluation is not None:
        train_with_curves(settings, log)
    else:
        train(settings, log)
    return dict(json.loads(manifest_path.read_text(encoding="utf-8")))


def _train_all(
    config: PipelineConfig, out: Path, log: Log, timings: dict[str, float]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Train every variant (PPO after its reward model); the models by label and their
    training manifests."""
    manifests: dict[str, dict[str, Any]] = {}
    models: dict[str, str] = {"base": config.base}
    for method in config.methods:
        t0 = time.time()
        if method == "ppo":
            rm_dir = out / "models" / "rm"
            manifests["rm"] = _train_stage(config, "rm", rm_dir, log)
            manifests[method] = _train_stage(
                config, "ppo", out / "models" / "ppo", log, reward=str(rm_dir)
            )
        elif method == "cai":
            manifests[method] = _train_stage(
                config, "cai", out / "models" / "cai", log, limit=config.cai_prompts
            )
        else:
            manifests[method] = _train_stage(config, method, out / "models" / method, log)
        models[method] = str(out / "models" / method)
        timings[f"train_{method}"] = round(time.time() - t0, 1)
    return models, manifests


def _evaluate_all(
    config: PipelineConfig,
    models: dict[str, str],
    out: Path,
    progress: Progress,
    log: Log,
    timings: dict[str, float],
) -> dict[str, dict[str, Any]]:
    """Run the evaluation suites on every model; each run's summary.json by label."""
    from harness.jobs.run import RunConfig, run

    params = GenerationParams(max_new_tokens=config.eval.max_new_tokens)
    summaries: dict[str, dict[str, Any]] = {}
    for label, model in models.items():
        t0 = time.time()
        log(f"evaluate {label}: {', '.join(config.eval.suites)}")
        result = run(
            RunConfig(
                model=model,
                suites=tuple(config.eval.suites),
                out=out / "eval" / label,
                params=params,
                scorers=tuple(config.eval.scorers),
                limit=config.eval.limit,
                command=f"harness pipeline ({label})",
            ),
            progress,
        )
        summaries[label] = json.loads((result.out / "summary.json").read_text(encoding="utf-8"))
        timings[f"eval_{label}"] = round(time.time() - t0, 1)
    return summaries


def run_pipeline(
    config: PipelineConfig, out: Path, progress: Progress | None = None, log: Log = print
) -> dict[str, Any]:
    """Train, evaluate, compare; writes `pipeline.json`, `summary.md` and `report.html`."""
    from harness.core.paths import check_out_dir
    from harness.jobs.compare import CompareConfig, run_compare
    from reports.pipeline import pipeline_rows, render_pipeline_report, summary_markdown

    progress = progress or SilentProgress()
    check_before_training(config)
    check_out_dir(out)
    started = time.time()
    timings: dict[str, float] = {}
    models, manifests = _train_all(config, out, log, timings)
    summaries = _evaluate_all(config, models, out, progress, log, timings)
    t0 = time.time()
    log(f"compare with {config.compare.judge}: win rates against the base")
    winrates = run_compare(
        CompareConfig(
            models=tuple(f"{label}={model}" for label, model in models.items()),
            baseline="base",
            suites=tuple(config.compare.suites),
            judge=config.compare.judge,
            judge_base_url=config.compare.judge_base_url,
            judge_client=config.compare.judge_client,
            template=config.compare.template,
            out=out / "compare",
            params=GenerationParams(max_new_tokens=config.eval.max_new_tokens),
            limit=config.compare.limit,
            scorers=(),  # each model's run above has scored its answers
            command="harness pipeline (compare)",
        ),
        progress,
    )
    timings["compare"] = round(time.time() - t0, 1)
    timings["total"] = round(time.time() - started, 1)
    payload = {
        "config": json.loads(config.model_dump_json()),
        "models": models,
        "rows": pipeline_rows(models, manifests, summaries, winrates),
        "training": manifests,
        "compare_judge": config.compare.judge,
        "scorers": summaries["base"]["manifest"]["scorers"],
        "seconds": timings,
        "curves": {
            label: json.loads((Path(path) / "curves.json").read_text(encoding="utf-8"))
            for label, path in models.items()
            if label != "base" and (Path(path) / "curves.json").is_file()
        },
    }
    write_text_atomic(out / "pipeline.json", json.dumps(payload, indent=2) + "\n")
    write_text_atomic(out / "summary.md", summary_markdown(payload))
    write_text_atomic(out / "report.html", render_pipeline_report(payload))
    return payload


def pipeline(config_path: Path | None, out: Path | None, **kwargs: Any) -> dict[str, Any]:
    """Load the config (default: the shipped one) and run it."""
    config = load_pipeline_config(config_path)
    if out is None:
        raise UserError("--out DIR is required")
    return run_pipeline(config, out, **kwargs)
