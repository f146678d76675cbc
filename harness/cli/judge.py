"""`harness judge KIND`: LLM-as-judge over a JSONL file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    CANARY,
    CANARY_SAMPLE,
    FAIL_ON_DRIFT,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    MIN_VERDICT_MASS,
    PANEL_AGGREGATE,
    STORE,
    canary_outcome,
    judge_client,
)
from harness.cli.progress_bar import BarProgress
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from reports.banners import judge_banners, served_banners
from reports.judge import judge_usages
from reports.text import ci_text


class JudgeKind(StrEnum):
    """What `harness judge` does."""

    pairwise = "pairwise"
    pointwise = "pointwise"
    classify = "classify"


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
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
        list[str],
        typer.Option(
            "--judge",
            help="openai:MODEL (endpoint) or local:MODEL (e.g. local:smollm2). Repeat for a "
            "panel (every member judges every item), or give a panel file (panel.yaml).",
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
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    max_requests: Annotated[
        int | None, typer.Option(help="Budget: at most this many requests.")
    ] = None,
    max_tokens_budget: Annotated[
        int | None, typer.Option(help="Budget: at most this many tokens.")
    ] = None,
    min_verdict_mass: Annotated[float, MIN_VERDICT_MASS] = 0.5,
    store: Annotated[Path | None, STORE] = None,
    price_prompt: Annotated[
        float, typer.Option(help="Dollars per million prompt tokens (cost accounting).")
    ] = 0.0,
    price_completion: Annotated[
        float, typer.Option(help="Dollars per million completion tokens.")
    ] = 0.0,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
    canary: Annotated[Path | None, CANARY] = None,
    canary_sample: Annotated[int | None, CANARY_SAMPLE] = None,
    fail_on_drift: Annotated[bool, FAIL_ON_DRIFT] = False,
) -> None:
    """LLM-as-judge over a JSONL file: pairwise (both orders), pointwise grades, or labels."""
    from harness.jobs.judge import JudgeConfig, run_judge

    config = JudgeConfig(
        kind=kind.value,
        input=input_path,
        output=output,
        judge=judge[0],
        panel=tuple(judge[1:]),
        panel_aggregate=panel_aggregate,
        template=template,
        swap=swap,
        inconsistent=inconsistent,
        seed=seed,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        max_requests=max_requests,
        max_tokens_budget=max_tokens_budget,
        min_verdict_mass=min_verdict_mass,
        store=store,
        price=(price_prompt, price_completion),
        canary=canary,
        canary_sample=canary_sample,
    )
    with BarProgress(err) as progress:
        outcome = run_judge(config, progress)
    summary = outcome.summary
    usage = summary["usage"]
    stdout.print(
        f"{summary['n']} items: {summary['status']}; {usage['requests']} requests "
        f"({usage['retries']} retries, {usage['failed']} failed), {usage['cached']} from the store, "
        f"{usage['prompt_tokens'] + usage['completion_tokens']} tokens, {usage['seconds']:.1f} s, ${usage['cost']:.4f}"
    )
    for m in summary["metrics"]:
        stdout.print(f"  {m['metric']}: {ci_text(m, digits=3)}")
    warnings = judge_banners({m["metric"]: m for m in summary["metrics"]})
    for line in warnings + served_banners(judge_usages(summary)):
        err.print(f"! {line}", markup=False)
    stdout.print(f"Wrote {outcome.output}, {outcome.summary_path} and {outcome.report_path}")
    if outcome.failed == 0:  # a failed run exits 3 below; the canary's verdict is in its files
        canary_outcome(summary.get("canary"), fail_on_drift)
    if outcome.failed:  # any judgment without a reply leaves the run incomplete
        err.print(
            f"{outcome.failed} judgment(s) failed and are recorded with their reason; re-run to retry them"
        )
        raise typer.Exit(3)
