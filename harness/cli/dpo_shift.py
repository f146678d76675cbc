"""`harness dpo-shift`: robust DPO under distribution shift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, stdout, user_errors
from reports.text import difference_text


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
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
    from harness.core.validation import validate
    from harness.jobs.dpo_shift import ShiftConfig, run_shift_experiment

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
    config = validate("--flags", ShiftConfig, values)
    payload = run_shift_experiment(config, log=lambda line: err.print(line, markup=False))
    for name, r in payload["results"].items():
        d = r["robust_minus_standard"]
        stdout.print(
            f"{name}: standard {100 * r['standard']['value']:.1f}% "
            f"{payload['robust_label']} {100 * r['robust']['value']:.1f}% (n={r['n']}; "
            f"difference {difference_text(d)})",
            markup=False,
        )
    stdout.print(f"report: {out / 'report.html'} (also shift.json, summary.md)")
