"""The harness's own suite format: YAML (a list of items, or `name`/`description`/`items`) or JSONL.

Each item is a `harness.core.records.Sample`. Errors name the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.core.errors import InputError
from harness.core.io import TOO_DEEP, iter_jsonl, read_text, yaml_input_error
from harness.core.records import Sample


def _field_and_message(err: ValidationError) -> tuple[str | None, str]:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    msg = first["msg"].removeprefix("Value error, ")
    return (".".join(loc) or None), msg


def validate_rows(
    path: Path, rows: Iterable[tuple[int, dict[str, Any], dict[str, int]]]
) -> list[Sample]:
    """Build samples from (line, row, line-of-each-key) triples; reject bad and duplicate ids."""
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for line, row, key_lines in rows:
        if isinstance(row.get("id"), int):
            row = {**row, "id": str(row["id"])}
        try:
            sample = Sample.model_validate(row)
        except ValidationError as e:
            field, msg = _field_and_message(e)
            top = field.split(".")[0] if field else None
            at = key_lines.get(top, line) if top else line
            raise InputError(path, msg, line=at, field=field) from None
        if sample.id in seen:
            raise InputError(
                path,
                f"duplicate id '{sample.id}' (first at line {seen[sample.id]})",
                line=key_lines.get("id", line),
                field="id",
            )
        seen[sample.id] = line
        samples.append(sample)
    if not samples:
        raise InputError(path, "the suite has no items")
    return samples


def _yaml_items(
    path: Path,
) -> tuple[str | None, Iterator[tuple[int, dict[str, Any], dict[str, int]]]]:
    text = read_text(path)
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as e:
            raise yaml_input_error(path, e) from None
        except RecursionError:
            raise InputError(path, TOO_DEEP) from None
        if root is None:
            raise InputError(path, "the suite has no items")
        name: str | None = None
        seq = root
        if isinstance(root, yaml.MappingNode):
            top = {k.value: v for k, v in root.value}
            extra = set(top) - {"name", "description", "items"}
            if extra:
                raise InputError(
                    path, f"unknown top-level key(s): {', '.join(sorted(extra))}", line=1
                )
            if "items" not in top:
                raise InputError(
                    path, "a suite mapping needs an 'items' list", line=1, field="items"
                )
            if "name" in top:
                name = str(loader.construct_object(top["name"], deep=True))
            seq = top["items"]
        if not isinstance(seq, yaml.SequenceNode):
            raise InputError(
                path, "items must be a list", line=seq.start_mark.line + 1, field="items"
            )
        rows = []
        for node in seq.value:
            line = node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                raise InputError(path, "each item must be a mapping", line=line)
            row = loader.construct_object(node, deep=True)
            key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
            rows.append((line, row, key_lines))
        return name, iter(rows)
    finally:
        loader.dispose()


def load_native(path: Path) -> tuple[str, list[Sample]]:
    """Load a native suite file; its name is the YAML `name` or the file stem."""
    if path.suffix in {".yaml", ".yml"}:
        name, rows = _yaml_items(path)
        return name or path.stem, validate_rows(path, rows)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        stem = path.name.removesuffix(".gz").removesuffix(".jsonl")
        return stem, validate_rows(path, ((ln, row, {}) for ln, row in iter_jsonl(path)))
    raise InputError(path, "a suite file must end in .yaml, .yml, .jsonl or .jsonl.gz")
