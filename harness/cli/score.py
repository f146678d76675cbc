"""`harness score KIND`: score existing completions from a JSONL file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, err, user_errors
from harness.cli.options import (
    JUDGE_BASE_URL,
    JUDGE_CONCURRENCY,
    JUDGE_MAX_RETRIES,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT,
    PANEL_AGGREGATE,
    SCORER_JUDGE,
    STORE,
    TOXICITY_CONFIG,
    TOXICITY_MODEL,
    judge_client,
)
from harness.cli.output import metrics_table
from harness.cli.progress_bar import BarProgress
from harness.core.errors import UserError
from judges.llm.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


# One parameter per flag: typer reads a command's flags from its signature, so this
# signature is as long as the command's option list (the body only builds the job's config).
@app.command("score")
@user_errors
def score_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="Scorer: refusal, refusal-rules, refusal-classifier, judge-refusal, toxicity, "
            "diversity, ..."
        ),
    ],
    input: Annotated[
        Path,
        typer.Option(
            "--input", help="JSONL: id, prompt, completion (toxicity: completion or text alone)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="JSONL written here (atomically).")],
    summary: Annotated[
        Path | None, typer.Option(help="Also write the metrics (with CIs and n) as JSON here.")
    ] = None,
    toxicity_model: Annotated[str | None, TOXICITY_MODEL] = None,
    toxicity_config: Annotated[str | None, TOXICITY_CONFIG] = None,
    device: Annotated[str, typer.Option(help="Torch device for scorer models.")] = "cpu",
    judge: Annotated[list[str] | None, SCORER_JUDGE] = None,
    panel_aggregate: Annotated[str, PANEL_AGGREGATE] = "vote",
    judge_base_url: Annotated[str | None, JUDGE_BASE_URL] = None,
    judge_timeout: Annotated[float, JUDGE_TIMEOUT] = DEFAULT_TIMEOUT,
    judge_max_retries: Annotated[int, JUDGE_MAX_RETRIES] = DEFAULT_MAX_RETRIES,
    judge_concurrency: Annotated[int, JUDGE_CONCURRENCY] = DEFAULT_CONCURRENCY,
    judge_max_tokens: Annotated[int | None, JUDGE_MAX_TOKENS] = None,
    store: Annotated[Path | None, STORE] = None,
) -> None:
    """Score existing completions: one output line per input line; metrics with CIs."""
    from harness.core.paths import default_store_path
    from harness.jobs.score import score_file
    from judges.base import ScorerContext

    if not input.is_file():
        raise UserError(f"--input {input}: no such file")
    context = ScorerContext(
        judge=judge[0] if judge else None,
        panel=tuple(judge[1:]) if judge else (),
        panel_aggregate=panel_aggregate,
        judge_base_url=judge_base_url,
        judge_client=judge_client(
            judge_timeout, judge_max_retries, judge_concurrency, judge_max_tokens
        ),
        toxicity_model=toxicity_model,
        toxicity_config=toxicity_config,
        device=device,
    )
    with BarProgress(err) as progress:
        result = score_file(kind, input, output, context, store or default_store_path(), progress)
    metrics_table(f"{kind} on {input.name}", result.metrics)
    if result.spec.get("model"):
        err.print(f"scores from: {result.spec['model']}")
    if summary is not None:
        from harness.core.atomic import write_text_atomic

        record = {
            "scorer": result.spec,
            "input": str(input),
            "n": len(result.items),
            "metrics": [m.model_dump() for m in result.metrics],
        }
        write_text_atomic(summary, json.dumps(record, indent=2) + "\n")
