"""The `harness` command line.

    harness run --model smollm2 --suite quick --out runs/demo

Exit status: 0 when the run is complete, 2 for bad input (one line on stderr naming the
file, line and field), 3 when some items failed (they are listed; re-run to retry them).
"""

from __future__ import annotations

import functools
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

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


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


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
        list[str] | None, typer.Option("--scorers", help="Scorers, comma-separated or repeated.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Prompts per batch (local engines).")] = 16,
    device: Annotated[str, typer.Option(help="Torch device for local engines.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype for local engines.")] = "float32",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (else OPENAI_BASE_URL).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight (openai engine).")] = 8,
    store: Annotated[
        Path | None, typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="Judge for judge-* scorers: openai:MODEL or local:MODEL.")
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="Endpoint of an openai: judge.")
    ] = None,
) -> None:
    """Generate completions for suites, score them, and write items.jsonl, summary.json and report.html."""
    from pydantic import ValidationError

    from harness.records import GenerationParams
    from harness.runner import RunConfig
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
        },
        params=params,
        scorers=_split(scorers or ["refusal"]),
        limit=limit,
        store=store,
        judge=judge,
        judge_base_url=judge_base_url,
        command=shlex.join(["harness", *sys.argv[1:]]),
    )
    with BarProgress(err) as progress:
        result = run_job(config, progress)
    table = Table(title=f"{model} on {', '.join(s['name'] for s in result.manifest['suites'])}")
    for col in ("suite", "metric", "value", "95% CI", "n"):
        table.add_column(col)
    for m in result.metrics:
        table.add_row(
            m.suite, m.metric, f"{m.value:.3f}", f"[{m.ci_low:.3f}, {m.ci_high:.3f}]", str(m.n)
        )
    stdout.print(table)
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
    from suites.suite import BUILTIN, COMPOSITES

    for name in BUILTIN:
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


judge_app = typer.Typer(no_args_is_help=True, help="LLM-as-judge over a JSONL file.")
app.add_typer(judge_app, name="judge")

JudgeSpec = Annotated[
    str,
    typer.Option("--judge", help="openai:MODEL (endpoint) or local:MODEL (e.g. local:smollm2)."),
]
InputPath = Annotated[Path, typer.Option("--input", help="JSONL input.")]
OutputPath = Annotated[Path, typer.Option("--output", help="JSONL output (written atomically).")]
BaseUrl = Annotated[
    str | None,
    typer.Option("--judge-base-url", help="OpenAI-compatible endpoint (else OPENAI_BASE_URL)."),
]
Concurrency = Annotated[int, typer.Option(help="Judge requests in flight.")]
MaxRequests = Annotated[int | None, typer.Option(help="Budget: at most this many requests.")]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens-budget", help="Budget: at most this many tokens.")
]
Retries = Annotated[
    int, typer.Option(help="Retries on 429/5xx/timeouts (exponential backoff with jitter).")
]
Timeout = Annotated[float, typer.Option(help="Seconds per judge request.")]
StorePath = Annotated[
    Path | None, typer.Option(help="Results store (default $HARNESS_HOME/results.sqlite).")
]
PricePrompt = Annotated[
    float, typer.Option(help="Dollars per million prompt tokens (cost accounting).")
]
PriceCompletion = Annotated[float, typer.Option(help="Dollars per million completion tokens.")]


def _judging(
    kind: str,
    input_path: Path,
    output: Path,
    judge_spec: str,
    template_name: str,
    base_url: str | None,
    concurrency: int,
    max_requests: int | None,
    max_tokens_budget: int | None,
    max_retries: int,
    timeout: float,
    store: Path | None,
    price: tuple[float, float],
    pair_options: dict[str, Any] | None = None,
) -> None:
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

    template = load_template(template_name)
    if template.config.kind != kind:
        raise UserError(
            f"judge template '{template.name}' is a {template.config.kind} template, not {kind}"
        )
    needs_ref = template.config.needs_reference
    items: Any = (
        read_pairs(input_path, needs_reference=needs_ref)
        if kind == "pairwise"
        else read_points(input_path, needs_reference=needs_ref)
    )
    retry = RetryPolicy(max_retries=max_retries, timeout=timeout)
    backend = backend_from_spec(judge_spec, base_url=base_url, concurrency=concurrency, retry=retry)
    output.parent.mkdir(parents=True, exist_ok=True)
    with ResultsStore(store or default_store_path()) as results_store:
        judge = Judge(
            judge_spec,
            template,
            backend,
            results_store,
            Budget(max_requests, max_tokens_budget),
            Price(*price),
        )
        total = len(items) * (
            2 if kind == "pairwise" and (pair_options or {}).get("swap", True) else 1
        )
        with BarProgress(err) as progress:
            progress.start(f"judge {kind}", total)
            if kind == "pairwise":
                results: Any = judge_pairwise(
                    judge, items, on_done=progress.advance, **(pair_options or {})
                )
            elif kind == "pointwise":
                results = judge_pointwise(judge, items, on_done=progress.advance)
            else:
                results = judge_classify(judge, items, on_done=progress.advance)
    records = [result_record(r, judge) for r in results]
    summary = summarise(results, judge)
    write_text_atomic(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    stem = output.name.removesuffix(".jsonl")
    summary_path = output.with_name(stem + ".summary.json")
    report_path = output.with_name(stem + ".report.html")
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
    if summary["status"].get("failed"):
        raise typer.Exit(3)


@judge_app.command("pairwise")
@user_errors
def judge_pairwise_cmd(
    input_path: InputPath,
    output: OutputPath,
    judge: JudgeSpec,
    template: Annotated[
        str,
        typer.Option(
            help="Template name or folder (pairwise-v1, pairwise-logprob-v1, pairwise-reference-v1)."
        ),
    ] = "pairwise-v1",
    swap: Annotated[
        bool, typer.Option("--swap/--no-swap", help="Judge both orders (position-swap debiasing).")
    ] = True,
    inconsistent: Annotated[
        str,
        typer.Option(help="Inconsistent pairs become a 'tie' or are 'flag'ged without a verdict."),
    ] = "tie",
    seed: Annotated[int, typer.Option(help="Seed for the order when --no-swap.")] = 0,
    judge_base_url: BaseUrl = None,
    concurrency: Concurrency = 16,
    max_requests: MaxRequests = None,
    max_tokens_budget: MaxTokens = None,
    max_retries: Retries = 5,
    timeout: Timeout = 60.0,
    store: StorePath = None,
    price_prompt: PricePrompt = 0.0,
    price_completion: PriceCompletion = 0.0,
) -> None:
    """Compare response_a and response_b for each prompt; writes both-order verdicts, consistency and the combined verdict."""
    if inconsistent not in {"tie", "flag"}:
        raise UserError("--inconsistent must be 'tie' or 'flag'")
    _judging(
        "pairwise",
        input_path,
        output,
        judge,
        template,
        judge_base_url,
        concurrency,
        max_requests,
        max_tokens_budget,
        max_retries,
        timeout,
        store,
        (price_prompt, price_completion),
        {"swap": swap, "inconsistent": inconsistent, "seed": seed},
    )


@judge_app.command("pointwise")
@user_errors
def judge_pointwise_cmd(
    input_path: InputPath,
    output: OutputPath,
    judge: JudgeSpec,
    template: Annotated[str, typer.Option(help="Template name or folder.")] = "pointwise-v1",
    judge_base_url: BaseUrl = None,
    concurrency: Concurrency = 16,
    max_requests: MaxRequests = None,
    max_tokens_budget: MaxTokens = None,
    max_retries: Retries = 5,
    timeout: Timeout = 60.0,
    store: StorePath = None,
    price_prompt: PricePrompt = 0.0,
    price_completion: PriceCompletion = 0.0,
) -> None:
    """Grade each response on the template's scale (optionally against its reference)."""
    _judging(
        "pointwise",
        input_path,
        output,
        judge,
        template,
        judge_base_url,
        concurrency,
        max_requests,
        max_tokens_budget,
        max_retries,
        timeout,
        store,
        (price_prompt, price_completion),
    )


@judge_app.command("classify")
@user_errors
def judge_classify_cmd(
    input_path: InputPath,
    output: OutputPath,
    judge: JudgeSpec,
    template: Annotated[
        str, typer.Option(help="Template name or folder (refusal-3class-v1, harmfulness-v1).")
    ] = "refusal-3class-v1",
    judge_base_url: BaseUrl = None,
    concurrency: Concurrency = 16,
    max_requests: MaxRequests = None,
    max_tokens_budget: MaxTokens = None,
    max_retries: Retries = 5,
    timeout: Timeout = 60.0,
    store: StorePath = None,
    price_prompt: PricePrompt = 0.0,
    price_completion: PriceCompletion = 0.0,
) -> None:
    """Label each response with one of the template's labels."""
    _judging(
        "classify",
        input_path,
        output,
        judge,
        template,
        judge_base_url,
        concurrency,
        max_requests,
        max_tokens_budget,
        max_retries,
        timeout,
        store,
        (price_prompt, price_completion),
    )


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
