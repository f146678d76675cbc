"""AlpacaEval's shared annotation files, read once per process by the project's own
checked reader (`harness.jobs.winrate.read_annotations`), for the tools that draw real
answers and instructions from them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.jobs.winrate import read_annotations


@lru_cache(maxsize=1)
def annotation_rows(annotation_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every file's rows by model name (the file's name), in file order."""
    return read_annotations(sorted(annotation_dir.glob("*.jsonl*")))
