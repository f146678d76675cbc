"""`harness bias-amplification`: does DPO on a judge's labels amplify the judge's bias?"""

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
    MIN_VERDICT_MASS,
    OUT,
    PANEL_AGGREGATE,
    STORE,
    command_line,
    judge_client,
)
from harness.cli.progress_bar import BarProgress
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


# One parameter per flag: typer reads a command's flags from its signature.
@app.command("bias-amplification")
@user_errors
def bias_amplification(
    data: Annotated[str, typer.Option(help="Human-labelled preference pairs, e.g. hh-rlhf:PATH.")],
    judge: Annotated[
        list[str],
        typer.Option(
            help="The judge whose bias is measured: openai:MODEL or local:MODEL; repeat for a "
            "panel, or give a panel file."
        ),
    ],
    out: Annotated[Path, OUT],
    model: Annotated[str, typer.Option(help="Base model.")] = "smollm2",
    template: Annotated[str, typer.Option(help="Pairwise judge template.")] = "pairwise-v1",
    train_pairs: Annotated[int, typer.Option(help="Pairs labelled twice and trained on.")] = 120,
    eval_prompts: Annotated[int, typer.Option(help="Held-out prompts answered.")] = 40,
    max_steps: Annotated[int, typer.Option()] = 15,
    batch_size: Annotated[int, typer.Option()] = 8,
    learning_rate: Annotated[float, typer.Option()] = 5e-5,
    beta: Annotated[float, typer.Option()] = 0.1,
    max_length: Annotated[int, typer.Option(help="Tokens per training sequence.")] = 192,
    context_chars: Annotated[
        int, typer.Option(help="Keep the last dialogue turns up to this many characters.")
    ] = 400,
    max_new_tokens: Annotated[int, typer.Option(help="Longest held-out answer.")] = 256,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples of the ratio's CI.")] = 2000,
    seed: Annotated[int, typer.Option()] = 0,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    min_verdict_mass: Annotated[float, MIN_VERDICT_MASS] = 0.5,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
    store: Annotated[Path | None, STORE] = None,
) -> None:
    """Label HH-RLHF pairs with humans and with a judge, train DPO on each, and measure how
    far each policy moved along the judge's bias against the bias in its labels. Re-running
    resumes."""
    from harness.jobs.bias_amplification import AmplificationConfig, run_bias_amplification
    from reports.amplification import findings

    config = AmplificationConfig(
        data=data,
        judge=judge[0],
        panel=tuple(judge[1:]),
        panel_aggregate=panel_aggregate,
        out=out,
        model=model,
        template=template,
        train_pairs=train_pairs,
        eval_prompts=eval_prompts,
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        beta=beta,
        max_length=max_length,
        context_chars=context_chars,
        max_new_tokens=max_new_tokens,
        n_bootstrap=bootstrap,
        seed=seed,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        min_verdict_mass=min_verdict_mass,
        store=store,
        command=command_line(),
    )
    with BarProgress(err) as progress:
        payload = run_bias_amplification(
            config, progress, log=lambda line: err.print(line, markup=False)
        )
    for line in findings(payload):
        stdout.print(line, markup=False)
    stdout.print(f"report: {out / 'report.html'} (also amplification.json, summary.md)")
