"""`harness winrate`: AlpacaEval annotation files to win rates (exact AlpacaEval 2.0 statistics + LC)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness.cli.app import app, stdout, user_errors
from harness.core.errors import UserError


@app.command()
@user_errors
def winrate(
    files: Annotated[
        list[Path],
        typer.Argument(help="Annotation files (JSON list or JSON lines, optionally .gz)."),
    ],
    format: Annotated[
        str, typer.Option("--format", help="Input format: alpaca_eval.")
    ] = "alpaca_eval",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per model on stdout.")
    ] = False,
) -> None:
    """Win rates against the baseline, as AlpacaEval 2.0 computes them, plus the length-controlled win rate."""

    from harness.jobs.winrate import leaderboard, read_annotations

    if format != "alpaca_eval":
        raise UserError(f"unknown --format '{format}' (supported: alpaca_eval)")
    rows = sorted(
        leaderboard(read_annotations(files)), key=lambda r: -r["length_controlled_winrate"]
    )
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(title="Win rate vs baseline (AlpacaEval 2.0 definitions; LC = length-controlled)")
    for col in ("model", "LC win rate", "win rate ± s.e.", "wins/base/draws", "n", "avg length"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"],
            f"{r['length_controlled_winrate']:.2f}",
            f"{r['win_rate']:.2f} ± {r['standard_error']:.2f}",
            f"{r['n_wins']}/{r['n_wins_base']}/{r['n_draws']}",
            str(r["n_total"]),
            str(r["avg_length"]),
        )
    stdout.print(table)
