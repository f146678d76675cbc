"""`harness canary pin|check`: catch a judge that changed under its name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
    DRIFT_EXIT,
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    MIN_VERDICT_MASS,
    canary_outcome,
    judge_client,
)
from harness.cli.progress_bar import BarProgress
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

canary_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Pin a judge's verdicts on a small set of pairs, and check a judge against them.",
)
app.add_typer(canary_app, name="canary")


@canary_app.command("pin")
@user_errors
def pin_cmd(
    judge: Annotated[str, typer.Option(help="openai:MODEL or local:MODEL.")],
    pairs: Annotated[
        str,
        typer.Option(
            help="hh-rlhf:PATH, AlpacaEval human annotations, or JSONL pairs (id, prompt, "
            "response_a, response_b)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="The canary file to write (canary.json).")],
    n: Annotated[int, typer.Option(help="Pairs to pin (each judged twice, both orders).")] = 50,
    template: Annotated[str, typer.Option(help="Pairwise judge template.")] = "pairwise-v1",
    seed: Annotated[int, typer.Option(help="Seeds HH-RLHF's answer slots.")] = 0,
    min_verdict_mass: Annotated[float, MIN_VERDICT_MASS] = 0.5,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
) -> None:
    """Judge N pairs twice, in both orders, and record the verdicts, the judge's own repeat
    agreement, who answered and when."""
    from harness.jobs.canary import CanaryPinConfig, pin_canary

    config = CanaryPinConfig(
        judge=judge,
        pairs=pairs,
        out=out,
        n=n,
        template=template,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        seed=seed,
        min_verdict_mass=min_verdict_mass,
    )
    with BarProgress(err) as progress:
        record = pin_canary(config, progress)
    agree = record["repeat_agreement"]
    stdout.print(
        f"Pinned {len(record['pairs'])} pairs in {out}; the judge agreed with itself on "
        f"{agree['agree']} of {agree['n']} pairs with a verdict in both judgings.",
        markup=False,
    )


@canary_app.command("check")
@user_errors
def check_cmd(
    canary: Annotated[Path, typer.Argument(help="A canary file from harness canary pin.")],
    judge: Annotated[str, typer.Option(help="openai:MODEL or local:MODEL.")],
    sample: Annotated[
        int | None, typer.Option(help="Check a seeded sample of this many pairs (default all).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    alpha: Annotated[
        float, typer.Option(min=0.0001, max=0.5, help="False-alarm rate of the test.")
    ] = 0.05,
    out: Annotated[Path | None, typer.Option(help="Write the check's record (JSON).")] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help=f"Exit {DRIFT_EXIT} when drift is detected.")
    ] = False,
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
) -> None:
    """Judge the canary's pairs again and say: judge unchanged, judge drift detected, or
    inconclusive (too few pairs)."""
    from harness.jobs.canary import CanaryCheckConfig, check_canary

    config = CanaryCheckConfig(
        canary=canary,
        judge=judge,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        sample=sample,
        seed=seed,
        alpha=alpha,
        out=out,
    )
    with BarProgress(err) as progress:
        result = check_canary(config, progress)
    canary_outcome(result, fail_on_drift)
