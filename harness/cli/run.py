"""`harness run` (the main job) and `harness reproduce` (run a finished run again)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    BATCH_SIZE,
    ENGINE_OPTION,
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    OUT,
    PANEL_AGGREGATE,
    SCORER_JUDGE,
    STORE,
    SUITE_LIMIT,
    TOXICITY_CONFIG,
    TOXICITY_MODEL,
    command_line,
    engine_options,
    judge_client,
    split_values,
)
from harness.cli.output import metrics_table
from harness.cli.progress_bar import BarProgress
from harness.core.errors import UserError
from harness.engines.openai_client import REQUEST_RETRIES, REQUEST_TIMEOUT
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from reports.banners import run_banners


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
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
    out: Annotated[Path, OUT],
    engine: Annotated[str, typer.Option(help="transformers, openai or vllm.")] = "transformers",
    limit: Annotated[int | None, SUITE_LIMIT] = None,
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
    batch_size: Annotated[int, BATCH_SIZE] = 16,
    device: Annotated[str, typer.Option(help="Torch device for local engines.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Weights dtype for local engines.")] = "float32",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (else OPENAI_BASE_URL).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Requests in flight (openai engine).")
    ] = 8,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds to wait for one completion (openai engine).")
    ] = REQUEST_TIMEOUT,
    max_retries: Annotated[
        int, typer.Option(min=0, help="Retries on 429/5xx/timeouts (openai engine).")
    ] = REQUEST_RETRIES,
    store: Annotated[Path | None, STORE] = None,
    judge: Annotated[list[str] | None, SCORER_JUDGE] = None,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    toxicity_model: Annotated[str | None, TOXICITY_MODEL] = None,
    toxicity_config: Annotated[str | None, TOXICITY_CONFIG] = None,
    engine_option: Annotated[list[str] | None, ENGINE_OPTION] = None,
    replicas: Annotated[
        int, typer.Option(help="Engine replicas on Ray (data-parallel generation).")
    ] = 1,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (auto, ray://HOST:10001).")
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            help="[NAME=]DIR: a LoRA adapter applied on --model without merging "
            "(`train dpo --lora --no-lora-merge`, or one per persona with --personas)."
        ),
    ] = None,
) -> None:
    """Generate completions for suites, score them, and write items.jsonl, summary.json and report.html."""
    from pydantic import ValidationError

    from harness.core.records import GenerationParams
    from harness.jobs.run import DEFAULT_SCORERS, RunConfig
    from harness.jobs.run import run as run_job
    from harness.jobs.run_outputs import summary_record

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
            "timeout": timeout,
            "max_retries": max_retries,
            "options": engine_options(engine_option or []),
            **({"adapter": adapter.partition("=")[2] or adapter} if adapter else {}),
        },
        params=params,
        scorers=split_values(scorers) if scorers else DEFAULT_SCORERS,
        limit=limit,
        store=store,
        judge=judge[0] if judge else None,
        panel=tuple(judge[1:]) if judge else (),
        panel_aggregate=panel_aggregate,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        toxicity_model=toxicity_model,
        toxicity_config=toxicity_config,
        replicas=replicas,
        ray_address=ray_address,
        command=command_line(),
    )
    with BarProgress(err) as progress:
        result = run_job(config, progress)
    metrics_table(
        f"{model} on {', '.join(s['name'] for s in result.manifest['suites'])}", result.metrics
    )
    stdout.print(
        f"{len(result.items)} items ({result.generated} generated, {result.cached} from the store, "
        f"{result.failed} failed). Report: {result.out / 'report.html'}"
    )
    for line in run_banners(summary_record(result)):  # the report's banners, on the terminal too
        err.print(f"! {line}", markup=False)
    if result.failed:
        for it in result.items:
            if it.completion.error:
                err.print(f"failed: {it.suite}/{it.sample.id}: {it.completion.error}", markup=False)
        raise typer.Exit(3)


@app.command()
@user_errors
def reproduce(
    run_dir: Annotated[Path, typer.Argument(help="A finished run's output directory.")],
    out: Annotated[Path, typer.Option(help="Where the re-run writes (a new directory).")],
) -> None:
    """Run a finished run again from its manifest with a fresh store; compare completions and
    metrics. Exit 0 when identical, 4 when anything differs (listed in reproduction.json)."""
    from harness.jobs.reproduce import reproduce as reproduce_run

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
