"""The `harness` command line.

    harness run --model smollm2 --suite quick --out runs/demo

Exit status: 0 when the run is complete, 2 for bad input (one line on stderr naming the
file, line and field), 3 when some items failed (they are listed; re-run to retry them).
"""

from __future__ import annotations

import functools
import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from harness.errors import UserError
from harness.records import MetricValue

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Evaluate and judge aligned language models."
)
suites_app = typer.Typer(no_args_is_help=True, help="List and check prompt suites.")
app.add_typer(suites_app, name="suites")

err = Console(stderr=True)
stdout = Console()
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn a UserError into one line on stderr and exit status 2 (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            if _state["debug"]:
                raise
            err.print(Text(f"error: {e}", style="red"), soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for input errors.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Evaluate and judge aligned language models."""
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    for ours in ("harness", "suites", "judges", "reports", "trainers"):
        logging.getLogger(ours).setLevel(logging.DEBUG if verbose else logging.INFO)


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.completed / task.elapsed if task.elapsed else None  # average since start
        return Text("-- items/s" if speed is None else f"{speed:.2f} items/s", style="cyan")


class BarProgress:
    """Rich progress bar with count, rate and ETA."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: Any = None

    def __enter__(self) -> BarProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.__exit__(*exc)

    def start(self, stage: str, total: int) -> None:
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, done: int) -> None:
        self._bar.advance(self._task, done)


STORE = typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")
SCORER_JUDGE = typer.Option(help="Judge for judge-* scorers: openai:MODEL or local:MODEL.")
JUDGE_BASE_URL = typer.Option(help="Endpoint of an openai: judge.")
PERSONAS = typer.Option(
    help="Also judge every pair per user profile: a personas YAML file, or 'default'."
)
PERSONA_TEMPLATE = typer.Option(help="Judge template with a {persona} placeholder.")
TOXICITY_MODEL = typer.Option(
    help="detoxify model for the toxicity scorer: small (offline stand-in, default), original, "
    "unbiased, multilingual, or a checkpoint path."
)
TOXICITY_CONFIG = typer.Option(
    help="Directory with the HF config and tokenizer, to load a detoxify checkpoint offline."
)


def _metrics_table(title: str, metrics: Sequence[MetricValue]) -> None:
    table = Table(title=title)
    for col in ("suite", "scorer", "metric", "value", "95% CI", "n"):
        table.add_column(col)
    for m in metrics:
        table.add_row(
            m.suite,
            m.scorer or "",
            m.metric,
            f"{m.value:.3f}",
            f"[{m.ci_low:.3f}, {m.ci_high:.3f}]",
            str(m.n),
        )
    stdout.print(table)


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _engine_options(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` flags -> options, values read as YAML scalars (4 -> int, true -> bool)."""
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UserError(f"--engine-option '{pair}': expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


@app.command()
@user_errors
def run(
    model: Annotated[
        str,
        typer.Option(
            help="'smollm2' (embedded), a model directory, a hub id, or the endpoint's model name."
        ),
    ],
    suite: Annotated[
        list[str], typer.Option(help="Suite: built-in name, file, or LOADER:SOURCE. Repeatable.")
    ],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    engine: Annotated[str, typer.Option(help="transformers, openai or vllm.")] = "transformers",
    limit: Annotated[int | None, typer.Option(help="Only the first N items of each suite.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Longest completion, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    n: Annotated[int, typer.Option(help="Completions per prompt.")] = 1,
    scorers: Annotated[
        list[str] | None,
        typer.Option(
            "--scorers",
            help="Scorers, comma-separated or repeated (default: refusal,toxicity,diversity).",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Prompts per batch (local engines).")] = 16,
    device: Annotated[str, typer.Option(help="Torch device for local engines.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype for local engines.")] = "float32",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (else OPENAI_BASE_URL).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight (openai engine).")] = 8,
    store: Annotated[Path | None, STORE] = None,
    judge: Annotated[str | None, SCORER_JUDGE] = None,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    toxicity_model: Annotated[str | None, TOXICITY_MODEL] = None,
    toxicity_config: Annotated[str | None, TOXICITY_CONFIG] = None,
    engine_option: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE passed to the engine (e.g. vLLM's tensor_parallel_size=4). Repeatable."
        ),
    ] = None,
    replicas: Annotated[
        int, typer.Option(help="Engine replicas on Ray (data-parallel generation).")
    ] = 1,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (auto, ray://HOST:10001).")
    ] = None,
) -> None:
    """Generate completions for suites, score them, and write items.jsonl, summary.json and report.html."""
    from pydantic import ValidationError

    from harness.records import GenerationParams
    from harness.runner import DEFAULT_SCORERS, RunConfig
    from harness.runner import run as run_job

    try:
        params = GenerationParams(
            temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed, n=n
        )
    except ValidationError as e:
        first = e.errors()[0]
        raise UserError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    config = RunConfig(
        model=model,
        suites=tuple(suite),
        out=out,
        engine=engine,
        engine_config={
            "device": device,
            "dtype": dtype,
            "batch_size": batch_size,
            "base_url": base_url,
            "concurrency": concurrency,
            "options": _engine_options(engine_option or []),
        },
        params=params,
        scorers=_split(scorers) if scorers else DEFAULT_SCORERS,
        limit=limit,
        store=store,
        judge=judge,
        judge_base_url=judge_base_url,
        toxicity_model=toxicity_model,
        toxicity_config=toxicity_config,
        replicas=replicas,
        ray_address=ray_address,
        command=shlex.join(["harness", *sys.argv[1:]]),
    )
    with BarProgress(err) as progress:
        result = run_job(config, progress)
    _metrics_table(
        f"{model} on {', '.join(s['name'] for s in result.manifest['suites'])}", result.metrics
    )
    stdout.print(
        f"{len(result.items)} items ({result.generated} generated, {result.cached} from the store, "
        f"{result.failed} failed). Report: {result.out / 'report.html'}"
    )
    if result.failed:
        for it in result.items:
            if it.completion.error:
                err.print(f"failed: {it.suite}/{it.sample.id}: {it.completion.error}", markup=False)
        raise typer.Exit(3)


@suites_app.command("list")
def suites_list() -> None:
    """List built-in suites and benchmark loaders."""
    from harness.registry import names
    from suites.suite import BUILTIN, BUILTIN_MATH, COMPOSITES

    for name in (*BUILTIN, *BUILTIN_MATH):
        stdout.print(name)
    for name, parts in COMPOSITES.items():
        stdout.print(f"{name} = {' + '.join(parts)}")
    for name in names("suite_loader"):
        stdout.print(f"{name}:PATH_OR_HUB_ID")


@suites_app.command("check")
@user_errors
def suites_check(
    specs: Annotated[list[str], typer.Argument(help="Suite specs to load and validate.")],
) -> None:
    """Load suites and report their sizes; bad input gives one line naming file, line and field."""
    from suites import load_suites

    for s in load_suites(specs):
        refuse = sum(1 for x in s.samples if x.should_refuse)
        stdout.print(
            f"{s.name}: {len(s.samples)} items ({refuse} should_refuse), digest {s.digest[:12]}"
        )


class JudgeKind(StrEnum):
    """What `harness judge` does."""

    pairwise = "pairwise"
    pointwise = "pointwise"
    classify = "classify"


DEFAULT_TEMPLATE = {
    "pairwise": "pairwise-v1",
    "pointwise": "pointwise-v1",
    "classify": "refusal-3class-v1",
}


@app.command()
@user_errors
def reproduce(
    run_dir: Annotated[Path, typer.Argument(help="A finished run's output directory.")],
    out: Annotated[Path, typer.Option(help="Where the re-run writes (a new directory).")],
) -> None:
    """Run a finished run again from its manifest with a fresh store; compare completions and
    metrics. Exit 0 when identical, 4 when anything differs (listed in reproduction.json)."""
    from harness.reproduce import reproduce as reproduce_run

    with BarProgress(err) as progress:
        found = reproduce_run(run_dir, out, progress)
    stdout.print(
        f"{found.identical_completions}/{found.completions} completions and "
        f"{found.identical_metrics}/{found.metrics} metrics identical; "
        f"details: {out / 'reproduction.json'}"
    )
    if not found.exact:
        for line in found.differences[:10]:
            err.print(line, markup=False)
        raise typer.Exit(4)


@app.command()
@user_errors
def train(
    method: Annotated[str, typer.Argument(help="sft, rm, dpo, ppo or cai.")],
    data: Annotated[
        str | None,
        typer.Option(
            help="hh-rlhf:PATH, hf:DATASET[:SPLIT], judgments:PATH, JSONL (prompt/chosen/"
            "rejected; messages for sft); ppo and cai also take any suite as prompts."
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
        typer.Option(help="PPO: reward-model directory, or scorers:NAME=WEIGHT,..."),
    ] = None,
    kl_coef: Annotated[float | None, typer.Option(help="PPO: KL penalty coefficient.")] = None,
    response_length: Annotated[
        int | None, typer.Option(help="PPO: tokens sampled per rollout.")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="PPO: rollout temperature.")] = None,
    judge: Annotated[
        str | None,
        typer.Option(help="PPO: judge for judge-backed reward scorers; CAI: feedback model."),
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="Endpoint of an openai: judge.")
    ] = None,
    constitution: Annotated[
        Path | None, typer.Option(help="CAI: YAML constitution (default: the project's).")
    ] = None,
    rl: Annotated[str | None, typer.Option(help="CAI stage 2: dpo (default) or ppo.")] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="CAI: tokens per answer, critique and revision.")
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Train a checkpoint with TRL (SFT, reward model, DPO, PPO, Constitutional AI); writes
    DIR/manifest.json. Options a method does not take are refused."""
    from trainers.config import CONFIGS, build_config
    from trainers.run import train as run_training

    if method not in CONFIGS:
        raise UserError(f"unknown training method '{method}' (one of {', '.join(CONFIGS)})")
    flags: dict[str, object] = {
        "data": data,
        "out": out,
        "model": model,
        "max_steps": max_steps,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "max_length": max_length,
        "limit": limit,
        "eval_fraction": eval_fraction,
        "lora": lora,
        "bf16": bf16,
        "gradient_checkpointing": gradient_checkpointing,
        "seed": seed,
        "beta": beta,
        "loss_type": loss_type,
        "label_smoothing": label_smoothing,
        "robust_radius": robust_radius,
        "robust_ball": robust_ball,
        "reward": reward,
        "kl_coef": kl_coef,
        "response_length": response_length,
        "temperature": temperature,
        "judge": judge,
        "judge_base_url": judge_base_url,
        "constitution": constitution,
        "rl": rl,
        "max_new_tokens": max_new_tokens,
    }
    result = run_training(
        build_config(method, config, **flags), log=lambda line: err.print(line, markup=False)
    )
    shown = {
        k: round(v, 4)
        for k, v in result.metrics.items()
        if "/" in k or "loss" in k or "accuracy" in k
    }
    stdout.print(f"{result.steps} steps in {result.seconds:.0f} s; final metrics: {shown}")
    stdout.print(f"checkpoint: {result.out} (evaluate: harness run --model {result.out} ...)")


@app.command()
@user_errors
def pipeline(
    out: Annotated[Path, typer.Option(help="Output directory (models, runs, report).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="pipeline.yaml (default: trainers/pipeline.yaml)."),
    ] = None,
) -> None:
    """Train DPO, PPO and Constitutional AI variants of one base model, evaluate them all on
    the same suites, judge win rates against the base, and write one comparison report.
    Re-running the same command resumes: finished stages are kept."""
    from trainers.pipeline import pipeline as run_pipeline

    with BarProgress(err) as progress:
        payload = run_pipeline(
            config, out, progress=progress, log=lambda line: err.print(line, markup=False)
        )
    stdout.print(
        f"{len(payload['rows'])} models in {payload['seconds']['total']:.0f} s; "
        f"report: {out / 'report.html'} (also pipeline.json, summary.md)"
    )


@app.command("score")
@user_errors
def score_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="Scorer: refusal, refusal-rules, refusal-classifier, judge-refusal, toxicity, "
            "diversity, ..."
        ),
    ],
    input: Annotated[Path, typer.Option("--input", help="JSONL: id, prompt, completion.")],
    output: Annotated[Path, typer.Option("--output", help="JSONL written here (atomically).")],
    summary: Annotated[
        Path | None, typer.Option(help="Also write the metrics (with CIs and n) as JSON here.")
    ] = None,
    toxicity_model: Annotated[str | None, TOXICITY_MODEL] = None,
    toxicity_config: Annotated[str | None, TOXICITY_CONFIG] = None,
    device: Annotated[str, typer.Option(help="Torch device for scorer models.")] = "cpu",
    judge: Annotated[str | None, SCORER_JUDGE] = None,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    store: Annotated[Path | None, STORE] = None,
) -> None:
    """Score existing completions: one output line per input line; metrics with CIs."""
    from harness.paths import default_store_path
    from harness.score_file import score_file
    from judges.base import ScorerContext

    if not input.is_file():
        raise UserError(f"--input {input}: no such file")
    context = ScorerContext(
        judge=judge,
        judge_base_url=judge_base_url,
        toxicity_model=toxicity_model,
        toxicity_config=toxicity_config,
        device=device,
    )
    with BarProgress(err) as progress:
        result = score_file(kind, input, output, context, store or default_store_path(), progress)
    _metrics_table(f"{kind} on {input.name}", result.metrics)
    if result.spec.get("model"):
        err.print(f"scores from: {result.spec['model']}")
    if summary is not None:
        from harness.atomic import write_text_atomic

        record = {
            "scorer": result.spec,
            "input": str(input),
            "n": len(result.items),
            "metrics": [m.model_dump() for m in result.metrics],
        }
        write_text_atomic(summary, json.dumps(record, indent=2) + "\n")


@app.command("judge")
@user_errors
def judge_cmd(
    kind: Annotated[
        JudgeKind,
        typer.Argument(
            help="pairwise (id, prompt, response_a, response_b), pointwise or classify (id, prompt, response)."
        ),
    ],
    input_path: Annotated[Path, typer.Option("--input", help="JSONL input.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", help="JSONL output; OUT.summary.json and OUT.report.html beside it."
        ),
    ],
    judge: Annotated[
        str,
        typer.Option(
            "--judge", help="openai:MODEL (endpoint) or local:MODEL (e.g. local:smollm2)."
        ),
    ],
    template: Annotated[
        str | None,
        typer.Option(
            help="Template name or folder (default: pairwise-v1, pointwise-v1, refusal-3class-v1)."
        ),
    ] = None,
    swap: Annotated[
        bool,
        typer.Option(
            "--swap/--no-swap", help="Pairwise: judge both orders (position-swap debiasing)."
        ),
    ] = True,
    inconsistent: Annotated[
        str,
        typer.Option(
            help="Pairwise: inconsistent pairs become a 'tie' or are 'flag'ged without a verdict."
        ),
    ] = "tie",
    seed: Annotated[
        int, typer.Option(help="Pairwise with --no-swap: seed of the content-seeded order.")
    ] = 0,
    judge_base_url: Annotated[
        str | None,
        typer.Option("--judge-base-url", help="OpenAI-compatible endpoint (else OPENAI_BASE_URL)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Judge requests in flight.")] = 16,
    max_requests: Annotated[
        int | None, typer.Option(help="Budget: at most this many requests.")
    ] = None,
    max_tokens_budget: Annotated[
        int | None, typer.Option(help="Budget: at most this many tokens.")
    ] = None,
    max_retries: Annotated[
        int,
        typer.Option(
            help="Retries on 429/5xx/timeouts/malformed replies (exponential backoff with jitter)."
        ),
    ] = 5,
    timeout: Annotated[float, typer.Option(help="Seconds per judge request.")] = 60.0,
    store: Annotated[Path | None, STORE] = None,
    price_prompt: Annotated[
        float, typer.Option(help="Dollars per million prompt tokens (cost accounting).")
    ] = 0.0,
    price_completion: Annotated[
        float, typer.Option(help="Dollars per million completion tokens.")
    ] = 0.0,
) -> None:
    """LLM-as-judge over a JSONL file: pairwise (both orders), pointwise grades, or labels."""
    import json

    from harness.atomic import write_text_atomic
    from harness.paths import default_store_path
    from harness.store import ResultsStore
    from judges.backends import Budget, RetryPolicy, backend_from_spec
    from judges.classify import judge_classify
    from judges.files import read_pairs, read_points, result_record, summarise
    from judges.judge import Judge, Price
    from judges.pairwise import judge_pairwise
    from judges.pointwise import judge_pointwise
    from judges.template import load_template
    from reports.run_report import render_judge_report

    if inconsistent not in {"tie", "flag"}:
        raise UserError("--inconsistent must be 'tie' or 'flag'")
    on_inconsistent: Literal["tie", "flag"] = "tie" if inconsistent == "tie" else "flag"
    loaded = load_template(template or DEFAULT_TEMPLATE[kind.value])
    if loaded.config.kind != kind.value:
        raise UserError(
            f"judge template '{loaded.name}' is a {loaded.config.kind} template, not {kind.value}"
        )
    needs_ref = loaded.config.needs_reference
    pairwise = kind is JudgeKind.pairwise
    items: Any = (
        read_pairs(input_path, needs_reference=needs_ref)
        if pairwise
        else read_points(input_path, needs_reference=needs_ref)
    )
    retry = RetryPolicy(max_retries=max_retries, timeout=timeout)
    backend = backend_from_spec(
        judge, base_url=judge_base_url, concurrency=concurrency, retry=retry
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with ResultsStore(store or default_store_path()) as results_store:
        the_judge = Judge(
            judge,
            loaded,
            backend,
            results_store,
            Budget(max_requests, max_tokens_budget),
            Price(price_prompt, price_completion),
        )
        with BarProgress(err) as progress:
            progress.start(f"judge {kind.value}", len(items) * (2 if pairwise and swap else 1))
            if pairwise:
                results: Any = judge_pairwise(
                    the_judge,
                    items,
                    swap=swap,
                    inconsistent=on_inconsistent,
                    seed=seed,
                    on_done=progress.advance,
                )
            elif kind is JudgeKind.pointwise:
                results = judge_pointwise(the_judge, items, on_done=progress.advance)
            else:
                results = judge_classify(the_judge, items, on_done=progress.advance)
    records = [result_record(r, the_judge) for r in results]
    summary = summarise(results, the_judge)
    stem = output.name.removesuffix(".jsonl")
    summary_path = output.with_name(stem + ".summary.json")
    report_path = output.with_name(stem + ".report.html")
    write_text_atomic(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    write_text_atomic(report_path, render_judge_report(summary, records))
    usage = summary["usage"]
    stdout.print(
        f"{summary['n']} items: {summary['status']}; {usage['requests']} requests "
        f"({usage['retries']} retries, {usage['failed']} failed), {usage['cached']} from the store, "
        f"{usage['prompt_tokens'] + usage['completion_tokens']} tokens, {usage['seconds']:.1f} s, ${usage['cost']:.4f}"
    )
    for m in summary["metrics"]:
        stdout.print(
            f"  {m['metric']}: {m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] n={m['n']}"
        )
    stdout.print(f"Wrote {output}, {summary_path} and {report_path}")
    if usage["failed"]:  # any judgment without a reply leaves the run incomplete
        err.print(
            f"{usage['failed']} judgment(s) failed and are recorded with their reason; re-run to retry them"
        )
        raise typer.Exit(3)


@app.command()
@user_errors
def serve(
    model: Annotated[str, typer.Option(help="'smollm2', a model directory or a hub id.")],
    port: Annotated[int, typer.Option(help="TCP port.")] = 8011,
    host: Annotated[
        str, typer.Option(help="Bind address (loopback unless you mean otherwise).")
    ] = "127.0.0.1",
    served_model_name: Annotated[
        str | None, typer.Option(help="Name clients send as 'model' (default: --model).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Largest batch of concurrent requests.")] = 16,
    max_pending: Annotated[int, typer.Option(help="Requests in flight before 429.")] = 64,
    device: Annotated[str, typer.Option(help="Torch device.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype.")] = "float32",
) -> None:
    """Serve a local model as an OpenAI-compatible endpoint (/v1/chat/completions, /v1/models)."""
    import uvicorn

    from harness.engines.base import EngineConfig
    from harness.engines.transformers_engine import TransformersEngine
    from harness.serve import build_app

    if host not in {"127.0.0.1", "localhost", "::1"}:
        err.print(
            f"warning: binding to {host}: anyone who can reach it can use the model", style="yellow"
        )
    engine = TransformersEngine(
        EngineConfig(model=model, batch_size=batch_size, device=device, dtype=dtype)
    )
    from harness.records import Message

    engine.encode([[Message(role="user", content="warm-up")]])  # load before accepting requests
    app_ = build_app(
        engine, served_model_name or model, max_batch=batch_size, max_pending=max_pending
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
@user_errors
def winrate(
    files: Annotated[
        list[Path],
        typer.Argument(help="Annotation files (JSON list or JSON lines, optionally .gz)."),
    ],
    format: Annotated[
        str, typer.Option("--format", help="Input format: alpaca_eval.")
    ] = "alpaca_eval",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per model on stdout.")
    ] = False,
) -> None:
    """Win rates against the baseline, as AlpacaEval 2.0 computes them, plus the length-controlled win rate."""
    import json

    from reports.alpaca_eval_files import leaderboard, read_annotations

    if format != "alpaca_eval":
        raise UserError(f"unknown --format '{format}' (supported: alpaca_eval)")
    rows = sorted(
        leaderboard(read_annotations(files)), key=lambda r: -r["length_controlled_winrate"]
    )
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(title="Win rate vs baseline (AlpacaEval 2.0 definitions; LC = length-controlled)")
    for col in ("model", "LC win rate", "win rate ± s.e.", "wins/base/draws", "n", "avg length"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"],
            f"{r['length_controlled_winrate']:.2f}",
            f"{r['win_rate']:.2f} ± {r['standard_error']:.2f}",
            f"{r['n_wins']}/{r['n_wins_base']}/{r['n_draws']}",
            str(r["n_total"]),
            str(r["avg_length"]),
        )
    stdout.print(table)


@app.command()
@user_errors
def compare(
    model: Annotated[
        list[str],
        typer.Option(
            help="[LABEL=]SPEC[@temperature=..,seed=..,top_p=..,max_new_tokens=..]. Repeat for each model."
        ),
    ],
    baseline: Annotated[str, typer.Option(help="Label of the baseline model.")],
    suite: Annotated[list[str], typer.Option(help="Suite(s) to generate on.")],
    judge: Annotated[str, typer.Option(help="openai:MODEL or local:MODEL.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    template: Annotated[
        str,
        typer.Option(
            help="Pairwise judge template (pairwise-v1, pairwise-logprob-v1, pairwise-reference-v1) or folder."
        ),
    ] = "pairwise-v1",
    all_pairs: Annotated[
        bool,
        typer.Option(
            "--all-pairs", help="Judge every pair of models, not only against the baseline."
        ),
    ] = False,
    inconsistent: Annotated[
        str, typer.Option(help="Pairs whose two orders disagree: 'tie' or 'flag'.")
    ] = "tie",
    engine: Annotated[str, typer.Option(help="Generation engine.")] = "transformers",
    limit: Annotated[int | None, typer.Option(help="Only the first N items of each suite.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Default longest completion.")] = 256,
    temperature: Annotated[float, typer.Option(help="Default sampling temperature.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Default sampling seed.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Prompts per batch (local engines).")] = 16,
    base_url: Annotated[str | None, typer.Option(help="Endpoint for --engine openai.")] = None,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_concurrency: Annotated[int, typer.Option(help="Judge requests in flight.")] = 16,
    bootstrap: Annotated[int, typer.Option(help="Bradley-Terry bootstrap resamples.")] = 1000,
    store: Annotated[Path | None, STORE] = None,
    personas: Annotated[str | None, PERSONAS] = None,
    persona_template: Annotated[str, PERSONA_TEMPLATE] = "pairwise-persona-v1",
) -> None:
    """Generate with several models, judge them pairwise with position swap, and report win rates."""
    from harness.compare import CompareConfig, run_compare
    from harness.records import GenerationParams

    config = CompareConfig(
        models=tuple(model),
        baseline=baseline,
        suites=tuple(suite),
        judge=judge,
        out=out,
        template=template,
        all_pairs=all_pairs,
        inconsistent=inconsistent,
        engine=engine,
        engine_config={"batch_size": batch_size, "base_url": base_url},
        params=GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed),
        judge_base_url=judge_base_url,
        judge_concurrency=judge_concurrency,
        limit=limit,
        store=store,
        n_bootstrap=bootstrap,
        command=shlex.join(["harness", *sys.argv[1:]]),
        personas=personas,
        persona_template=persona_template,
    )
    with BarProgress(err) as progress:
        payload = run_compare(config, progress)
    from reports.compare import summary_markdown

    stdout.print(summary_markdown(payload, payload["manifest"]), markup=False)
    stdout.print(f"Report: {out / 'report.html'} (also winrates.json, summary.md, judgments.jsonl)")
    failed = sum(u["failed"] for u in payload["manifest"]["judge_usage"])
    if failed:  # pairs without a judgment are left out of the win rates until re-judged
        err.print(
            f"{failed} judgment(s) failed; re-run to retry them (the rest come from the store)"
        )
        raise typer.Exit(3)


@app.command("export-alpaca-eval")
@user_errors
def export_alpaca_eval(
    run_dir: Annotated[Path, typer.Argument(help="A `harness run` output directory.")],
    output: Annotated[Path, typer.Option(help="model_outputs.json to write.")],
    generator: Annotated[
        str | None, typer.Option(help="Name to record as generator (default: the run's model).")
    ] = None,
) -> None:
    """Write a run's completions as AlpacaEval's model_outputs.json (instruction, output, generator, dataset)."""
    import json

    from harness.atomic import write_text_atomic
    from suites.sources import iter_jsonl

    summary_path = run_dir / "summary.json"
    try:
        model = json.loads(summary_path.read_text())["model"]
    except (OSError, ValueError, KeyError):
        raise UserError(f"{summary_path}: not a readable run summary") from None
    rows = [
        {
            "instruction": r["prompt"],
            "output": r["completion"],
            "generator": generator or model,
            "dataset": r.get("category") or r["suite"],
        }
        for _, r in iter_jsonl(run_dir / "items.jsonl")
        if not r.get("error") and r.get("sample_index", 0) == 0
    ]
    write_text_atomic(output, json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    stdout.print(f"Wrote {len(rows)} outputs to {output}")


@app.command("audit-judge")
@user_errors
def audit_judge(
    pairs: Annotated[
        str,
        typer.Option(
            help="hh-rlhf:PATH, or JSONL with id, prompt, response_a, response_b, human (A/B/tie)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="Judge to audit: openai:MODEL or local:MODEL. Repeatable."),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option("--compare", help="More judges to put side by side. Repeatable."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N pairs.")] = None,
    template: Annotated[
        str, typer.Option(help="Pairwise judge template or folder.")
    ] = "pairwise-v1",
    judge_base_url: Annotated[str | None, typer.Option(help="Endpoint of openai: judges.")] = None,
    judge_concurrency: Annotated[int, typer.Option(help="Judge requests in flight.")] = 16,
    self_preference: Annotated[
        bool,
        typer.Option(
            "--self-preference/--no-self-preference",
            help="Have the judge model answer the prompts and judge its own answers.",
        ),
    ] = True,
    reference_judge: Annotated[
        str | None, typer.Option(help="A second judge for the self-preference comparison.")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Repeated judgments per pair for variance.")] = 2,
    repeat_temperature: Annotated[
        float, typer.Option(help="Judge temperature for the repeats.")
    ] = 1.0,
    price_prompt: Annotated[float, typer.Option(help="Dollars per million prompt tokens.")] = 0.0,
    price_completion: Annotated[
        float, typer.Option(help="Dollars per million completion tokens.")
    ] = 0.0,
    store: Annotated[Path | None, STORE] = None,
    personas: Annotated[str | None, PERSONAS] = None,
    persona_template: Annotated[str, PERSONA_TEMPLATE] = "pairwise-persona-v1",
) -> None:
    """Audit judges on human-labelled pairs: agreement, position/length/format/self bias, variance, cost."""
    from harness.audit_run import AuditConfig, run_audit_judges

    specs = tuple([*(judge or []), *(compare or [])])
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    config = AuditConfig(
        judges=specs,
        pairs=pairs,
        out=out,
        template=template,
        limit=limit,
        judge_base_url=judge_base_url,
        judge_concurrency=judge_concurrency,
        self_preference=self_preference,
        reference_judge=reference_judge,
        repeats=repeats,
        repeat_temperature=repeat_temperature,
        store=store,
        price=(price_prompt, price_completion),
        command=shlex.join(["harness", *sys.argv[1:]]),
        personas=personas,
        persona_template=persona_template,
    )
    with BarProgress(err) as progress:
        payload = run_audit_judges(config, progress)
    from reports.audit_report import warnings

    for result in payload["judges"]:
        stdout.print(f"[bold]{result['judge']['spec']}[/bold] on {result['n_pairs']} pairs")
        for name, m in result["measures"].items():
            if m["value"] is None:
                stdout.print(f"  {name}: – ({m['note']})", markup=False)
            elif m["ci_low"] is None:
                stdout.print(f"  {name}: {m['value']:.4g} (n={m['n']})", markup=False)
            else:
                stdout.print(
                    f"  {name}: {m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] n={m['n']}",
                    markup=False,
                )
        for w in warnings(result["measures"]):
            stdout.print(f"  ! {w}", markup=False)
    stdout.print(f"Report card: {out / 'report.html'} (also audit.json, items.jsonl)")


from harness import cli_techniques  # noqa: E402,F401  (registers dpo-shift, process, personas)
