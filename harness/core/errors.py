"""Errors a user can act on.

The CLI prints a `UserError` as one line on stderr and exits with status 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input, configuration or environment: the message says what to fix."""


class InputError(UserError):
    """A problem at a place in an input file: names the file, the line and the field."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.detail = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


class MissingDependencyError(UserError):
    """An optional dependency is not installed; the message gives the install command."""

    def __init__(self, package: str, purpose: str, install: str | None = None) -> None:
        hint = install or f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package, which is not installed: {hint}")


class IncompleteWork(Exception):
    """Some requests failed: what finished is kept, and a re-run retries the rest. The CLI
    prints the message and exits with status 3."""
