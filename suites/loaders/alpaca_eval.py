"""AlpacaEval's instruction set: a JSON list (or JSON lines) of objects with `instruction`.

Accepts the evaluation set itself and `model_outputs.json` files (extra fields are kept).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import is_hub_id, iter_hub, iter_json_records
from harness.core.records import Sample
from harness.core.registry import register


def samples_from_rows(source: str, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[Sample]:
    """AlpacaEval rows -> samples, ids by position (AlpacaEval keys rows by instruction)."""
    out = []
    for line, row in rows:
        instruction = row.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise InputError(source, "missing or empty", line=line, field="instruction")
        dataset = row.get("dataset")
        out.append(
            Sample(
                id=f"alpaca-{line}",
                prompt=instruction,
                category=str(dataset) if dataset else None,
                should_refuse=False,
                metadata={k: row[k] for k in ("output", "generator") if k in row},
            )
        )
    if not out:
        raise InputError(source, "the suite has no items")
    return out


@register("suite_loader", "alpaca-eval")
def load_alpaca_eval(source: str) -> tuple[str, list[Sample]]:
    """Load AlpacaEval instructions from a JSON/JSONL file or a hub id (split 'eval')."""
    if is_hub_id(source):
        return "alpaca-eval", samples_from_rows(source, iter_hub(source, "eval"))
    return "alpaca-eval", samples_from_rows(source, iter_json_records(Path(source)))
