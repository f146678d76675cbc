"""Command lines the tests run, written once."""

from __future__ import annotations

from pathlib import Path


def scripted_run(suite: str, out: Path, *extra: str) -> list[str]:
    """`harness run` of the scripted engine's model `m` on `suite`, writing to `out`."""
    return [
        "run",
        "--model",
        "m",
        "--engine",
        "scripted",
        "--suite",
        suite,
        *extra,
        "--out",
        str(out),
    ]
