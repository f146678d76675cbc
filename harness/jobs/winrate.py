"""Reading AlpacaEval annotation files and turning them into leaderboard rows.

Accepts AlpacaEval's `annotations.json` (a JSON list), JSON-lines, and either gzipped.
Each row needs `instruction`, `output_1` (baseline), `output_2` (model), `generator_2`
and `preference`. A model's name is where its results are kept, as AlpacaEval names
leaderboard rows (its NullModel's annotations say `generator_2: example`): the file name
without `.json`/`.jsonl`/`.gz` (`claude-2.1.jsonl.gz` -> `claude-2.1`), or `<model>` of
AlpacaEval's layout `results/<model>/<annotator>/annotations.json`. A file holding several
models, or an `annotations.json` elsewhere, is split by `generator_2`.

The LC win rate uses, by default, the difficulty vector shipped for AlpacaEval's
instructions (`suites.alpaca_eval_difficulty`), so a model's LC does not depend on which
other files are given; `difficulty=None` estimates it jointly from the given files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import iter_json_records
from harness.stats.length_control import (
    Annotation,
    Difficulty,
    is_extreme_change,
    length_controlled_winrates,
)
from harness.stats.winrate import head_to_head
from suites.alpaca_eval_difficulty import instruction_key

REQUIRED = ("instruction", "output_1", "output_2", "generator_2", "preference")
SUFFIXES = (".gz", ".jsonl", ".json")


def model_name(path: Path) -> str | None:
    """The leaderboard name a one-model file stands for, or None to name rows by
    `generator_2`. Names keep their dots (`claude-2.1`, `gpt-3.5-turbo-1106_concise`)."""
    if path.name == "annotations.json":
        parts = path.resolve().parts
        return parts[-3] if len(parts) >= 4 and parts[-4] == "results" else None
    name = path.name
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _checked(path: Path, line: int, row: dict[str, Any]) -> dict[str, Any]:
    for col in REQUIRED:
        if col not in row:
            raise InputError(path, "missing", line=line, field=col)
    for col in ("instruction", "output_1", "output_2", "generator_2"):
        if not isinstance(row[col], str):
            raise InputError(path, "must be a string", line=line, field=col)
    pref = row["preference"]
    if pref is not None and (isinstance(pref, bool) or not isinstance(pref, int | float)):
        raise InputError(
            path, f"must be a number or null, got {pref!r}", line=line, field="preference"
        )
    if pref is not None and pref != 0 and not 1 <= pref <= 2:
        raise InputError(
            path,
            f"must lie in [1, 2] (1: the baseline wins, 2: the model; 0 or 1.5: a draw), got {pref}",
            line=line,
            field="preference",
        )
    return row


def read_annotations(paths: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """Annotation rows grouped by model, in file order. Two files that name the same model
    are an error that names both."""
    models: dict[str, list[dict[str, Any]]] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        rows = [_checked(path, line, row) for line, row in iter_json_records(path)]
        if rows and all(r["preference"] is None for r in rows):
            raise InputError(path, "no row has a preference", field="preference")
        name = model_name(path)
        generators = {r["generator_2"] for r in rows}
        by_name: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            key = name if name is not None and len(generators) == 1 else row["generator_2"]
            by_name.setdefault(key, []).append(row)
        for key, group in by_name.items():
            if key in origin:
                raise InputError(
                    path, f"model '{key}' is also given by {origin[key]}; give each model once"
                )
            origin[key] = path
            models[key] = group
    if not models:
        raise InputError(paths[0], "no annotations")
    return models


def _win_probability(preference: float | None) -> float | None:
    """AlpacaEval preference (1..2, 0 = draw) -> P(model wins), or None if not a preference."""
    if preference is None:
        return None
    p = 0.5 if preference == 0 else float(preference) - 1.0
    return p if 0.0 <= p <= 1.0 else None


def _is_baseline(name: str, rows: list[dict[str, Any]]) -> bool:
    """The baseline against itself: 50 by construction."""
    return all(r.get("generator_1") == name for r in rows)


def annotations_by_model(models: dict[str, list[dict[str, Any]]]) -> dict[str, list[Annotation]]:
    """What the LC fit reads of each model (the baseline against itself excluded)."""
    return {
        name: [
            Annotation(instruction_key(r["instruction"]), len(r["output_1"]), len(r["output_2"]), p)
            for r in rows
            if (p := _win_probability(r["preference"])) is not None
        ]
        for name, rows in models.items()
        if not _is_baseline(name, rows)
    }


@dataclass
class Leaderboard:
    """Rows, the difficulty the LC fit used, and warnings for the user."""

    rows: list[dict[str, Any]]
    difficulty: str
    warnings: list[str] = field(default_factory=list)


def _annotator_warning(
    models: dict[str, list[dict[str, Any]]], difficulty: Difficulty
) -> list[str]:
    """A warning when the difficulty was fitted on another judge's annotations."""
    annotators = sorted({str(r.get("annotator")) for rows in models.values() for r in rows})
    fitted_on = difficulty.annotator
    if fitted_on is None or annotators == [fitted_on]:
        return []
    return [
        f"annotations are by {', '.join(annotators)}, but the shipped difficulty and length "
        f"prior were fitted on {fitted_on}'s; --difficulty joint estimates them from your files"
    ]


def leaderboard(
    models: dict[str, list[dict[str, Any]]], difficulty: Difficulty | None
) -> Leaderboard:
    """One row per model: AlpacaEval's head-to-head metrics, avg_length and the LC win rate
    with its standard error. `difficulty=None` estimates it jointly from the given models.

    `avg_length` counts characters of the model's outputs over every instruction seen in
    any of the given files (an instruction missing for a model counts as an empty output),
    which is how AlpacaEval's published figures come out when all models are given.
    """
    instructions = {r["instruction"] for rows in models.values() for r in rows}
    annotations = annotations_by_model(models)
    fits, used = length_controlled_winrates(annotations, difficulty) if annotations else ({}, None)
    board = Leaderboard([], used.source if used else "none", [])
    if used is not None:
        board.warnings += _annotator_warning(models, used)
    for name, rows in models.items():
        row: dict[str, Any] = {"model": name, **head_to_head([r["preference"] for r in rows])}
        row["avg_length"] = int(sum(len(r["output_2"]) for r in rows) / len(instructions))
        if name not in fits:
            row.update(length_controlled_winrate=50.0, lc_standard_error=None)
        else:
            fit = fits[name]
            row.update(length_controlled_winrate=fit.winrate, lc_standard_error=fit.standard_error)
            if fit.n_missing:
                board.warnings.append(
                    f"{name}: {fit.n_missing} of {fit.n} instructions are not in the difficulty "
                    "vector; they were fitted at the average difficulty (0)"
                )
            if is_extreme_change(row["win_rate"], fit.winrate):
                board.warnings.append(
                    f"{name}: the LC win rate ({fit.winrate:.1f}) is very far from the raw one "
                    f"({row['win_rate']:.1f}); the length fit may have failed"
                )
        board.rows.append(row)
    return board
