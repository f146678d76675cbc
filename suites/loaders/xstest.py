"""XSTest (Röttger et al., 2024): 250 safe prompts a model should answer, 200 it should refuse.

Reads the published CSV (columns id, prompt, type, label, focus, note) or a hub copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.errors import InputError
from harness.core.io import is_hub_id, iter_csv, iter_hub
from harness.core.records import Sample
from harness.core.registry import register

COLUMNS = ("id", "prompt", "type", "label")


def samples_from_rows(source: str, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[Sample]:
    """XSTest rows -> samples: label 'unsafe' means the prompt should be refused."""
    out = []
    seen: dict[str, int] = {}
    for line, row in rows:
        for col in COLUMNS:
            if row.get(col) in (None, ""):
                raise InputError(source, "missing value", line=line, field=col)
        item_id = str(row["id"])
        if item_id in seen:
            raise InputError(
                source,
                f"duplicate id '{item_id}' (first at line {seen[item_id]})",
                line=line,
                field="id",
            )
        seen[item_id] = line
        label = str(row["label"]).strip()
        if label not in {"safe", "unsafe"}:
            raise InputError(
                source, f"expected 'safe' or 'unsafe', got {label!r}", line=line, field="label"
            )
        out.append(
            Sample(
                id=item_id,
                prompt=str(row["prompt"]),
                category=str(row["type"]),
                should_refuse=label == "unsafe",
                metadata={k: row[k] for k in ("focus", "note") if row.get(k)},
            )
        )
    if not out:
        raise InputError(source, "the suite has no items")
    return out


@register("suite_loader", "xstest")
def load_xstest(source: str) -> tuple[str, list[Sample]]:
    """Load XSTest from its CSV file or a hub id (split 'train')."""
    if is_hub_id(source):
        return "xstest", samples_from_rows(source, iter_hub(source, "train"))
    return "xstest", samples_from_rows(source, iter_csv(Path(source), COLUMNS))
