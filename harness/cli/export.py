"""`harness export-alpaca-eval`: a run's completions as AlpacaEval's model_outputs.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import app, stdout, user_errors
from harness.core.errors import UserError


@app.command("export-alpaca-eval")
@user_errors
def export_alpaca_eval(
    run_dir: Annotated[Path, typer.Argument(help="A `harness run` output directory.")],
    output: Annotated[Path, typer.Option(help="model_outputs.json to write.")],
    generator: Annotated[
        str | None, typer.Option(help="Name to record as generator (default: the run's model).")
    ] = None,
) -> None:
    """Write a run's completions as AlpacaEval's model_outputs.json (instruction, output, generator, dataset)."""

    from harness.core.atomic import write_text_atomic
    from harness.core.io import iter_jsonl

    summary_path = run_dir / "summary.json"
    try:
        model = json.loads(summary_path.read_text())["model"]
    except (OSError, ValueError, KeyError):
        raise UserError(f"{summary_path}: not a readable run summary") from None
    rows = [
        {
            "instruction": r["prompt"],
            "output": r["completion"],
            "generator": generator or model,
            "dataset": r.get("category") or r["suite"],
        }
        for _, r in iter_jsonl(run_dir / "items.jsonl")
        if not r.get("error") and r.get("sample_index", 0) == 0
    ]
    write_text_atomic(output, json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    stdout.print(f"Wrote {len(rows)} outputs to {output}")
