"""`harness compare`: several models, judged pairwise with position swap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    BATCH_SIZE,
    CANARY,
    CANARY_SAMPLE,
    ENGINE_OPTION,
    FAIL_ON_DRIFT,
    GENERATION_ENGINE,
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    MIN_VERDICT_MASS,
    OUT,
    PANEL_AGGREGATE,
    PERSONA_TEMPLATE,
    PERSONAS,
    STORE,
    SUITE_LIMIT,
    TOXICITY_CONFIG,
    TOXICITY_MODEL,
    canary_outcome,
    command_line,
    engine_options,
    judge_client,
    split_values,
)
from harness.cli.progress_bar import BarProgress
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
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
    judge: Annotated[
        list[str],
        typer.Option(
            help="openai:MODEL or local:MODEL. Repeat for a panel (every member judges every "
            "pair in both orders), or give a panel file (panel.yaml)."
        ),
    ],
    out: Annotated[Path, OUT],
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
    engine: Annotated[str, GENERATION_ENGINE] = "transformers",
    limit: Annotated[int | None, SUITE_LIMIT] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Default longest completion.")] = 256,
    temperature: Annotated[float, typer.Option(help="Default sampling temperature.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Default sampling seed.")] = 0,
    batch_size: Annotated[int, BATCH_SIZE] = 16,
    base_url: Annotated[str | None, typer.Option(help="Endpoint for --engine openai.")] = None,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    min_verdict_mass: Annotated[float, MIN_VERDICT_MASS] = 0.5,
    bootstrap: Annotated[
        int, typer.Option(min=1, help="Bradley-Terry bootstrap resamples.")
    ] = 1000,
    store: Annotated[Path | None, STORE] = None,
    personas: Annotated[str | None, PERSONAS] = None,
    persona_template: Annotated[str, PERSONA_TEMPLATE] = "pairwise-persona-v1",
    scorers: Annotated[
        list[str] | None,
        typer.Option(
            "--scorers",
            help="Scorers run on every model's answers for the scorecard, comma-separated or "
            "repeated (default: refusal,toxicity,diversity; 'none' for none).",
        ),
    ] = None,
    toxicity_model: Annotated[str | None, TOXICITY_MODEL] = None,
    toxicity_config: Annotated[str | None, TOXICITY_CONFIG] = None,
    canary: Annotated[Path | None, CANARY] = None,
    canary_sample: Annotated[int | None, CANARY_SAMPLE] = None,
    fail_on_drift: Annotated[bool, FAIL_ON_DRIFT] = False,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
    engine_option: Annotated[list[str] | None, ENGINE_OPTION] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=DIR: also compare the first --model with this LoRA adapter applied "
            "(unmerged), labelled NAME. Repeatable; with --personas, an adapter named after a "
            "persona is judged as that user's."
        ),
    ] = None,
) -> None:
    """Generate with several models, judge them pairwise with position swap, and report win rates."""
    from harness.core.records import GenerationParams
    from harness.jobs.compare import CompareConfig, run_compare
    from harness.jobs.run import DEFAULT_SCORERS

    chosen = split_values(scorers) if scorers else DEFAULT_SCORERS

    config = CompareConfig(
        models=tuple(model),
        baseline=baseline,
        suites=tuple(suite),
        judge=judge[0],
        panel=tuple(judge[1:]),
        panel_aggregate=panel_aggregate,
        out=out,
        template=template,
        all_pairs=all_pairs,
        inconsistent=inconsistent,
        engine=engine,
        engine_config={
            "batch_size": batch_size,
            "base_url": base_url,
            "options": engine_options(engine_option or []),
        },
        params=GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed),
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        min_verdict_mass=min_verdict_mass,
        limit=limit,
        store=store,
        n_bootstrap=bootstrap,
        command=command_line(),
        personas=personas,
        persona_template=persona_template,
        scorers=() if chosen == ("none",) else chosen,
        toxicity_model=toxicity_model,
        toxicity_config=toxicity_config,
        canary=canary,
        canary_sample=canary_sample,
        adapters=tuple(adapter or ()),
    )
    with BarProgress(err) as progress:
        payload = run_compare(config, progress)
    from reports.compare import summary_markdown

    stdout.print(summary_markdown(payload, payload["manifest"]), markup=False)
    stdout.print(f"Report: {out / 'report.html'} (also winrates.json, summary.md, judgments.jsonl)")
    failed = sum(u["failed"] for u in payload["manifest"]["judge_usage"])
    if not failed:  # a failed run exits 3 below; the canary's verdict is in its files
        canary_outcome(payload.get("canary"), fail_on_drift)
    if failed:  # pairs without a judgment are left out of the win rates until re-judged
        err.print(
            f"{failed} judgment(s) failed; re-run to retry them (the rest come from the store)"
        )
        raise typer.Exit(3)
