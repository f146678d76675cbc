"""Reading suite sources: strict UTF-8 text, JSON lines (plain or gzip), CSV and hub data sets.

Every reader yields `(line_number, row)` so that loaders can name the line of a bad row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.core.errors import InputError, MissingDependencyError, UserError
from harness.core.paths import HUB_ID


def read_text(path: Path) -> str:
    """The file's text; a missing file or bytes that are not UTF-8 give an InputError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(path, f"not a valid gzip file: {e}") from None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is not content
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(path, f"not valid UTF-8 (byte 0x{raw[e.start]:02x})", line=line) from None


TOO_DEEP = "nested too deeply to read"


def parse_yaml(path: Path, text: str) -> Any:
    """`text` (read from `path`) as YAML, safe tags only; errors name the file and line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise yaml_input_error(path, e) from None
    except RecursionError:
        raise InputError(path, TOO_DEEP) from None


def yaml_input_error(path: Path, error: Exception) -> InputError:
    """A PyYAML error as an InputError naming the file and, when PyYAML marks one, the line."""
    mark = getattr(error, "problem_mark", None)
    line = None if mark is None else mark.line + 1
    problem = getattr(error, "problem", None) or str(error)
    return InputError(path, f"invalid YAML: {problem}", line=line)


def read_yaml(path: Path) -> Any:
    """A YAML file, strictly UTF-8 (see `read_text`) and safe tags only."""
    return parse_yaml(path, read_text(path))


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a JSON-lines file (blank lines skipped); each must be a JSON object."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(path, f"invalid JSON: {e.msg}", line=number) from None
        except RecursionError:
            raise InputError(path, TOO_DEEP, line=number) from None
        if not isinstance(row, dict):
            raise InputError(path, "each line must be a JSON object", line=number)
        yield number, row


def iter_json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a JSON list of objects, or of a JSON-lines file (chosen by content)."""
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(path, f"invalid JSON: {e.msg}", line=e.lineno) from None
        except RecursionError:
            raise InputError(path, TOO_DEEP) from None
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise InputError(path, f"element {index} is not a JSON object")
            yield index + 1, row
    else:
        yield from iter_jsonl(path)


def iter_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with a header naming at least the `required` columns."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} in the header", line=1)
    for row in reader:
        yield reader.line_num, row


def iter_hub(
    dataset_id: str, split: str, config: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a hub data set (needs the `datasets` package and the network)."""
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError(
            "datasets",
            f"loading '{dataset_id}' from the hub",
            "pip install datasets",
        ) from None
    try:
        ds = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as e:  # noqa: BLE001 - the hub raises many kinds; the user needs the message
        raise UserError(
            f"{dataset_id}: cannot load from the hub ({type(e).__name__}: {e})"
        ) from None
    for index, row in enumerate(ds):
        yield index + 1, dict(row)


def is_hub_id(source: str) -> bool:
    """A string that names a hub data set rather than a local file."""
    return not Path(source).exists() and bool(HUB_ID.match(source))
