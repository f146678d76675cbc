"""`harness process`: process vs outcome supervision on math problems."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    BATCH_SIZE,
    GENERATION_ENGINE,
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    OUT,
    STORE,
    command_line,
    judge_client,
)
from harness.core.errors import UserError
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
@app.command("process")
@user_errors
def process(
    judge: Annotated[str, typer.Option(help="openai:MODEL (endpoint) or local:MODEL.")],
    out: Annotated[Path, OUT],
    model: Annotated[
        str | None, typer.Option(help="Model whose candidates to judge (else --solutions).")
    ] = None,
    solutions: Annotated[
        Path | None,
        typer.Option(
            help="Solutions JSONL (the harness's format or PRM800K's) instead of --model."
        ),
    ] = None,
    suite: Annotated[
        str, typer.Option(help="GSM8K-style suite (math-smoke, gsm8k:FILE).")
    ] = "math-smoke",
    n: Annotated[int, typer.Option(help="Candidates per problem (best-of-N).")] = 4,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.8,
    max_new_tokens: Annotated[int, typer.Option()] = 256,
    seed: Annotated[int, typer.Option()] = 0,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    engine: Annotated[str, GENERATION_ENGINE] = "transformers",
    batch_size: Annotated[int, BATCH_SIZE] = 16,
    base_url: Annotated[str | None, typer.Option(help="Endpoint for --engine openai.")] = None,
    prm_template: Annotated[
        str, typer.Option(help="Step-labelling judge template.")
    ] = "prm-step-v1",
    orm_template: Annotated[
        str, typer.Option(help="Outcome judge template, or 'none'.")
    ] = "orm-outcome-v1",
    split: Annotated[
        str, typer.Option(help="Step splitting: auto, numbered, lines or sentences.")
    ] = "auto",
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    store: Annotated[Path | None, STORE] = None,
) -> None:
    """Process vs outcome supervision: a judge labels every step of each math solution
    (PRM) and grades each final answer (ORM); reports accuracy, step errors, right answers
    through wrong steps, and best-of-N selection by PRM vs ORM."""

    from harness.cli.progress_bar import BarProgress
    from harness.jobs.process import ProcessConfig, run_process

    if split not in ("auto", "numbered", "lines", "sentences"):
        raise UserError("--split must be auto, numbered, lines or sentences")
    if (model is None) == (solutions is None):
        raise UserError("give exactly one of --model (generate candidates) or --solutions FILE")
    config = ProcessConfig(
        out=out,
        judge=judge,
        solutions=solutions,
        model=model,
        suite=suite,
        n=n,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
        limit=limit,
        engine=engine,
        engine_config={"batch_size": batch_size, "base_url": base_url},
        prm_template=prm_template,
        orm_template=None if orm_template == "none" else orm_template,
        split=split,  # type: ignore[arg-type]
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        store=store,
        command=command_line(),
    )
    with BarProgress(err) as progress:
        payload = run_process(config, progress)
    from reports.process import process_summary_markdown

    stdout.print(process_summary_markdown(payload), markup=False)
    stdout.print(f"Report: {out / 'report.html'} (also process.json, solutions.jsonl, summary.md)")
    failed = sum(u["failed"] for u in payload["manifest"]["judge_usage"])
    if failed:  # a step or answer without a judgment leaves the measures incomplete
        err.print(
            f"{failed} judgment(s) failed; re-run to retry them (the rest come from the store)"
        )
        raise typer.Exit(3)
