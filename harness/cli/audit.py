"""`harness audit-judge`: judges audited on human-labelled pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from harness.cli.options import (
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
    command_line,
    judge_client,
)
from harness.cli.progress_bar import BarProgress
from harness.core.errors import UserError
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
@app.command("audit-judge")
@user_errors
def audit_judge(
    pairs: Annotated[
        str,
        typer.Option(
            help="hh-rlhf:PATH, or JSONL with id, prompt, response_a, response_b, human (A/B/tie)."
        ),
    ],
    out: Annotated[Path, OUT],
    judge: Annotated[
        list[str],
        typer.Option(
            "--judge",
            help="Judge to audit: openai:MODEL, local:MODEL, or a panel file (its members are "
            "audited too). Repeatable.",
        ),
    ],
    compare: Annotated[
        list[str] | None,
        typer.Option("--compare", help="More judges to put side by side. Repeatable."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N pairs.")] = None,
    template: Annotated[
        str, typer.Option(help="Pairwise judge template or folder.")
    ] = "pairwise-v1",
    judge_base_url: Annotated[str | None, typer.Option(help="Endpoint of openai: judges.")] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    min_verdict_mass: Annotated[float, MIN_VERDICT_MASS] = 0.5,
    self_preference: Annotated[
        bool,
        typer.Option(
            "--self-preference/--no-self-preference",
            help="Have the judge model answer the prompts and judge its own answers.",
        ),
    ] = True,
    self_max_new_tokens: Annotated[
        int,
        typer.Option(
            min=1, help="Longest self-preference answer the judge model writes, in tokens."
        ),
    ] = 128,
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
    panel: Annotated[
        bool,
        typer.Option(
            "--panel", help="Also audit the --judge judges together as one panel (after each)."
        ),
    ] = False,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
) -> None:
    """Audit judges on human-labelled pairs: agreement, position/length/format/self bias, variance, cost."""
    from harness.jobs.audit import AuditConfig, run_audit_judges

    specs = tuple([*judge, *(compare or [])])
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    config = AuditConfig(
        judges=specs,
        pairs=pairs,
        out=out,
        template=template,
        limit=limit,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        min_verdict_mass=min_verdict_mass,
        self_preference=self_preference,
        self_max_new_tokens=self_max_new_tokens,
        reference_judge=reference_judge,
        repeats=repeats,
        repeat_temperature=repeat_temperature,
        store=store,
        price=(price_prompt, price_completion),
        command=command_line(),
        personas=personas,
        persona_template=persona_template,
        panel=panel,
        panel_aggregate=panel_aggregate,
    )
    with BarProgress(err) as progress:
        payload = run_audit_judges(config, progress)
    from reports.audit import warnings

    for result in payload["judges"]:
        stdout.print(f"[bold]{result['judge']['spec']}[/bold] on {result['n_pairs']} pairs")
        for name, m in result["measures"].items():
            if m["value"] is None:
                stdout.print(f"  {name}: – ({m['note']})", markup=False)
            elif m["ci_low"] is None:
                stdout.print(f"  {name}: {m['value']:.4g} (n={m['n']}; {m['note']})", markup=False)
            else:
                stdout.print(
                    f"  {name}: {m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] n={m['n']}",
                    markup=False,
                )
        for w in warnings(result["measures"]):
            stdout.print(f"  ! {w}", markup=False)
    stdout.print(f"Report card: {out / 'report.html'} (also audit.json, items.jsonl)")
