"""Reading AlpacaEval annotation files and turning them into leaderboard rows.

Accepts AlpacaEval's `annotations.json` (a JSON list), JSON-lines, and either gzipped.
Each row needs `instruction`, `output_1` (baseline), `output_2` (model), `generator_2`
and `preference`. A file holding one model is named after the file (`phi-2.jsonl.gz` ->
`phi-2`; AlpacaEval's own `annotations.json` -> its `generator_2`), since AlpacaEval names
leaderboard rows by where results are kept, not by `generator_2` (its NullModel's
annotations say `example`). A file holding several models is split by `generator_2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import iter_json_records
from harness.stats.length_control import ALPACA_EVAL_PHI, Annotation, length_controlled_winrates
from harness.stats.winrate import head_to_head

REQUIRED = ("instruction", "output_1", "output_2", "generator_2", "preference")


def model_name(path: Path) -> str:
    """The leaderboard name a one-model file stands for: its name without `.json`/`.jsonl`
    (and `.gz`). Names keep their dots (`claude-2.1`, `gpt-3.5-turbo-1106_concise`)."""
    name = path.name.removesuffix(".gz")
    for suffix in (".jsonl", ".json"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def read_annotations(paths: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """Annotation rows grouped by model (generator_2), in file order."""
    models: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        rows: list[dict[str, Any]] = []
        for line, row in iter_json_records(path):
            for col in REQUIRED:
                if col not in row:
                    raise InputError(path, "missing", line=line, field=col)
            for col in ("instruction", "output_1", "output_2", "generator_2"):
                if not isinstance(row[col], str):
                    raise InputError(path, "must be a string", line=line, field=col)
            pref = row["preference"]
            if pref is not None and not isinstance(pref, int | float):
                raise InputError(
                    path, f"must be a number or null, got {pref!r}", line=line, field="preference"
                )
            rows.append(row)
        generators = {r["generator_2"] for r in rows}
        stem = model_name(path)
        for row in rows:
            name = stem if len(generators) == 1 and stem != "annotations" else row["generator_2"]
            models.setdefault(name, []).append(row)
    if not models:
        raise InputError(paths[0], "no annotations")
    return models


def _win_probability(preference: float | None) -> float | None:
    """AlpacaEval preference (1..2, 0 = draw) -> P(model wins), or None if not a preference."""
    if preference is None:
        return None
    p = 0.5 if preference == 0 else float(preference) - 1.0
    return p if 0.0 <= p <= 1.0 else None


def leaderboard(models: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per model: AlpacaEval's head-to-head metrics, avg_length and the LC win rate.

    `avg_length` counts characters of the model's outputs over every instruction seen in
    any of the given files (an instruction missing for a model counts as an empty output),
    which is how AlpacaEval's published figures come out when all models are given.
    """
    instructions = {r["instruction"] for rows in models.values() for r in rows}
    annotations: dict[str, list[Annotation]] = {}
    baseline_models = []
    for name, rows in models.items():
        if all(r.get("generator_1") == name for r in rows):
            baseline_models.append(name)  # the baseline against itself: 50 by construction
            continue
        annotations[name] = [
            Annotation(r["instruction"], len(r["output_1"]), len(r["output_2"]), p)
            for r in rows
            if (p := _win_probability(r["preference"])) is not None
        ]
    annotators = {r.get("annotator") for rows in models.values() for r in rows}
    prior = ALPACA_EVAL_PHI if annotators == {"weighted_alpaca_eval_gpt4_turbo"} else 0.0
    lc = length_controlled_winrates(annotations, prior) if annotations else {}
    out = []
    for name, rows in models.items():
        row: dict[str, Any] = {"model": name, **head_to_head([r["preference"] for r in rows])}
        row["avg_length"] = int(sum(len(r["output_2"]) for r in rows) / len(instructions))
        row["length_controlled_winrate"] = 50.0 if name in baseline_models else lc[name]
        out.append(row)
    return out
