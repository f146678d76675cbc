"""The instruction-difficulty vector for AlpacaEval's 805 instructions, shipped with the package.

`builtin/alpaca_eval_difficulty.csv` has one row per instruction: its position in
AlpacaEval's evaluation set (`index`, as AlpacaEval's own `instruction_difficulty.csv` is
keyed), `key` (see `instruction_key`) and `difficulty`. Beside it,
`alpaca_eval_difficulty.json` records how it was made: the models and annotator it was
fitted on, the fit, the population length slope, the calibrated per-model prior, the date
and the leave-one-model-out validation. `tools/alpaca_eval_difficulty.py` regenerates both from the annotation files.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import iter_csv
from harness.stats.length_control import Difficulty, Prior

FILE = "alpaca_eval_difficulty.csv"
PROVENANCE = "alpaca_eval_difficulty.json"


def instruction_key(instruction: str) -> str:
    """What difficulty vectors are keyed by: the first 16 hex digits of the instruction's
    SHA-256 (so the vector ships without AlpacaEval's text)."""
    return hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:16]


def _builtin(name: str) -> Path:
    return Path(str(resources.files("suites") / "builtin" / name))


def provenance() -> dict[str, Any]:
    """How the shipped vector was made."""
    data: dict[str, Any] = json.loads(_builtin(PROVENANCE).read_text(encoding="utf-8"))
    return data


def _index_keys() -> dict[str, str]:
    """AlpacaEval row index -> instruction key, from the shipped file."""
    return {row["index"]: row["key"] for _, row in iter_csv(_builtin(FILE), ("index", "key"))}


def shipped_difficulty() -> Difficulty:
    """The shipped vector, with the per-model prior calibrated with it."""
    path = _builtin(FILE)
    values = {
        row["key"]: float(row["difficulty"])
        for _, row in iter_csv(path, ("index", "key", "difficulty"))
    }
    meta = provenance()
    return Difficulty(
        values=values,
        prior=shipped_prior(),
        source=(
            f"shipped AlpacaEval difficulty (joint fit over {len(meta['models'])} models "
            f"annotated by {meta['annotator']}, {meta['date']})"
        ),
        annotator=meta["annotator"],
    )


def shipped_prior() -> Prior:
    """The per-model prior calibrated with the shipped vector (see its provenance)."""
    return Prior(**{k: float(v) for k, v in provenance()["prior"].items()})


def read_difficulty_file(path: Path) -> Difficulty:
    """AlpacaEval's own `instruction_difficulty.csv` (`index,instruction_difficulty`), or a
    file in the shipped layout (`index,key,difficulty`). It gets the shipped prior: that
    stands in for AlpacaEval's gamed-baseline rows, which AlpacaEval applies with its own
    vector too, and the same values then give the same LC as the shipped file."""
    keys = _index_keys()
    values: dict[str, float] = {}
    rows = list(iter_csv(path, ("index",)))
    column = (
        "instruction_difficulty"
        if rows and "instruction_difficulty" in rows[0][1]
        else "difficulty"
    )
    for line, row in rows:
        if row.get(column) in (None, ""):
            raise InputError(path, "missing", line=line, field=column)
        try:
            value = float(row[column])
        except ValueError:
            raise InputError(
                path, f"not a number: {row[column]!r}", line=line, field=column
            ) from None
        key = row.get("key") or keys.get(row["index"])
        if key is None:
            raise InputError(
                path,
                f"no AlpacaEval instruction has index {row['index']!r}",
                line=line,
                field="index",
            )
        values[key] = value
    return Difficulty(
        values=values,
        prior=shipped_prior(),
        source=f"difficulty file {path}",
    )
