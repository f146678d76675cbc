"""`harness winrate`: AlpacaEval annotation files to win rates (exact AlpacaEval 2.0 statistics + LC)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.app import app, err, stdout, user_errors
from harness.core.errors import UserError

DIFFICULTY_HELP = (
    "Instruction difficulty for the LC fit: 'alpaca_eval' (the vector shipped for AlpacaEval's "
    "805 instructions; a model's LC then does not depend on the other files), 'joint' "
    "(estimated from the files given), or a path to AlpacaEval's instruction_difficulty.csv."
)


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
    difficulty: Annotated[str, typer.Option("--difficulty", help=DIFFICULTY_HELP)] = "alpaca_eval",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per model on stdout.")
    ] = False,
) -> None:
    """Win rates against the baseline, as AlpacaEval 2.0 computes them, plus the length-controlled win rate."""

    from harness.jobs.winrate import leaderboard, read_annotations
    from suites.alpaca_eval_difficulty import read_difficulty_file, shipped_difficulty

    if format != "alpaca_eval":
        raise UserError(f"unknown --format '{format}' (supported: alpaca_eval)")
    if difficulty == "alpaca_eval":
        vector = shipped_difficulty()
    elif difficulty == "joint":
        vector = None
    else:
        vector = read_difficulty_file(Path(difficulty))
    board = leaderboard(read_annotations(files), vector)
    for warning in board.warnings:
        err.print(f"warning: {escape(warning)}", highlight=False)
    rows = sorted(board.rows, key=lambda r: -r["length_controlled_winrate"])
    if as_json:
        for row in rows:
            clean = {
                k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()
            }
            print(json.dumps({**clean, "lc_difficulty": board.difficulty}, allow_nan=False))
        return
    table = Table(
        title="Win rate vs baseline (AlpacaEval 2.0 definitions; LC = length-controlled)",
        caption=f"LC difficulty: {escape(board.difficulty)}",
    )
    for col in ("model", "LC ± s.e.", "win rate ± s.e.", "wins/base/draws", "n", "avg length"):
        table.add_column(col, overflow="fold")  # wrap long names, never cut them
    for r in rows:
        lc_se = r["lc_standard_error"]
        table.add_row(
            escape(r["model"]),
            f"{r['length_controlled_winrate']:.2f}" + ("" if lc_se is None else f" ± {lc_se:.2f}"),
            f"{r['win_rate']:.2f} ± {r['standard_error']:.2f}",
            f"{r['n_wins']}/{r['n_wins_base']}/{r['n_draws']}",
            str(r["n_total"]),
            str(r["avg_length"]),
        )
    stdout.print(table)
