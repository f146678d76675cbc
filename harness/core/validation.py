"""Validating input at the edge: a pydantic error becomes one `InputError` naming the file,
the line and the field, before any expensive work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.core.errors import InputError
from harness.core.io import iter_jsonl, read_yaml

M = TypeVar("M", bound=BaseModel)


def input_error(
    source: Path | str, error: ValidationError, *, line: int | None = None
) -> InputError:
    """The first of pydantic's errors as an InputError naming `source`, `line` and the field."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    return InputError(source, first["msg"], line=line, field=field)


def validate(source: Path | str, model: type[M], raw: Any, *, line: int | None = None) -> M:
    """`raw` validated as `model`; an error names `source`, `line` and the field."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise input_error(source, e, line=line) from None


def load_yaml_model(source: Path, model: type[M]) -> M:
    """A YAML file validated as `model`; errors name the file and the field."""
    return validate(source, model, read_yaml(source))


def validated_rows(
    path: Path, model: type[BaseModel], *, unique_ids: bool = True, line_ids: bool = False
) -> list[tuple[int, Any]]:
    """(line, parsed row) for each JSONL line; errors name file, line and field. With
    `line_ids`, a row without an `id` is given its line number as one."""
    out: list[tuple[int, Any]] = []
    seen: dict[str, int] = {}
    for line, row in iter_jsonl(path):
        if isinstance(row.get("id"), int):
            row = {**row, "id": str(row["id"])}
        if line_ids and isinstance(row, dict) and "id" not in row:
            row = {**row, "id": str(line)}
        parsed = validate(path, model, row, line=line)
        item_id = parsed.id  # type: ignore[attr-defined]
        if unique_ids and item_id in seen:
            raise InputError(
                path,
                f"duplicate id '{item_id}' (first at line {seen[item_id]})",
                line=line,
                field="id",
            )
        seen[item_id] = line
        out.append((line, parsed))
    if not out:
        raise InputError(path, "the file has no items")
    return out
