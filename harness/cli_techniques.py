"""Commands for the seed's remaining techniques: `harness dpo-shift` (robust DPO under
distribution shift) and `harness process` (process vs outcome supervision); registered on
the main `harness` app. Personalised judging is `harness compare --personas`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli import JUDGE_BASE_URL, STORE, app, err, stdout, user_errors
from harness.errors import UserError


@app.command("dpo-shift")
@user_errors
def dpo_shift(
    data: Annotated[str, typer.Option(help="Preference pairs, e.g. hh-rlhf:PATH.")],
    out: Annotated[Path, typer.Option(help="Output directory (checkpoints, shift.json, report).")],
    model: Annotated[str, typer.Option(help="Base model.")] = "smollm2",
    source_topic: Annotated[str, typer.Option(help="Topic to train on.")] = "violence",
    shifted_topic: Annotated[
        list[str] | None, typer.Option(help="Topic to evaluate under shift (repeatable).")
    ] = None,
    train_pairs: Annotated[int, typer.Option(help="Training pairs from the source topic.")] = 120,
    eval_pairs: Annotated[int, typer.Option(help="Held-out source-topic pairs.")] = 60,
    shifted_pairs: Annotated[int, typer.Option(help="Pairs per shifted topic (at most).")] = 60,
    max_steps: Annotated[int, typer.Option()] = 15,
    batch_size: Annotated[int, typer.Option()] = 8,
    beta: Annotated[float, typer.Option()] = 0.1,
    robust_radius: Annotated[float, typer.Option(help="Robust DPO's radius.")] = 0.5,
    robust_ball: Annotated[str, typer.Option(help="'kl' (KLDPO) or 'wasserstein' (WDPO).")] = "kl",
    max_length: Annotated[int, typer.Option()] = 192,
    context_chars: Annotated[
        int, typer.Option(help="Keep the last dialogue turns up to this many characters.")
    ] = 400,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train standard and robust DPO (KLDPO or WDPO) on one topic's preferences and compare
    their preference accuracy on held-out pairs of that topic and on shifted topics.
    Re-running resumes."""
    from pydantic import ValidationError

    from harness.errors import InputError
    from trainers.shift_experiment import ShiftConfig, run_shift_experiment

    values: dict[str, object] = {
        "model": model,
        "data": data,
        "out": out,
        "source_topic": source_topic,
        "train_pairs": train_pairs,
        "eval_pairs": eval_pairs,
        "shifted_pairs": shifted_pairs,
        "max_steps": max_steps,
        "batch_size": batch_size,
        "beta": beta,
        "robust_radius": robust_radius,
        "robust_ball": robust_ball,
        "max_length": max_length,
        "context_chars": context_chars,
        "seed": seed,
    }
    if shifted_topic:
        values["shifted_topics"] = shifted_topic
    try:
        config = ShiftConfig.model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise InputError("--flags", first["msg"], field=field) from None
    payload = run_shift_experiment(config, log=lambda line: err.print(line, markup=False))
    for name, r in payload["results"].items():
        d = r["robust_minus_standard"]
        stdout.print(
            f"{name}: standard {100 * r['standard']['value']:.1f}% "
            f"{payload['robust_label']} {100 * r['robust']['value']:.1f}% (n={r['n']}; "
            f"difference {d['difference']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}])",
            markup=False,
        )
    stdout.print(f"report: {out / 'report.html'} (also shift.json, summary.md)")


@app.command("process")
@user_errors
def process(
    judge: Annotated[str, typer.Option(help="openai:MODEL (endpoint) or local:MODEL.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
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
    engine: Annotated[str, typer.Option(help="Generation engine.")] = "transformers",
    batch_size: Annotated[int, typer.Option(help="Prompts per batch (local engines).")] = 16,
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
    judge_concurrency: Annotated[int, typer.Option(help="Judge requests in flight.")] = 16,
    store: Annotated[Path | None, STORE] = None,
) -> None:
    """Process vs outcome supervision: a judge labels every step of each math solution
    (PRM) and grades each final answer (ORM); reports accuracy, step errors, right answers
    through wrong steps, and best-of-N selection by PRM vs ORM."""
    import shlex
    import sys

    from harness.cli import BarProgress
    from harness.process_run import ProcessConfig, run_process

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
        judge_concurrency=judge_concurrency,
        store=store,
        command=shlex.join(["harness", *sys.argv[1:]]),
    )
    with BarProgress(err) as progress:
        payload = run_process(config, progress)
    from reports.process_report import process_summary_markdown

    stdout.print(process_summary_markdown(payload), markup=False)
    stdout.print(f"Report: {out / 'report.html'} (also process.json, solutions.jsonl, summary.md)")
    failed = sum(u["failed"] for u in payload["manifest"]["judge_usage"])
    if failed:  # a step or answer without a judgment leaves the measures incomplete
        err.print(
            f"{failed} judgment(s) failed; re-run to retry them (the rest come from the store)"
        )
        raise typer.Exit(3)
