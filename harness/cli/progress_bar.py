"""The progress bar long commands show: count, rate and ETA."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.completed / task.elapsed if task.elapsed else None  # average since start
        return Text("-- items/s" if speed is None else f"{speed:.2f} items/s", style="cyan")


class BarProgress:
    """Rich progress bar with count, rate and ETA."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: Any = None

    def __enter__(self) -> BarProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.__exit__(*exc)

    def start(self, stage: str, total: int) -> None:
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, done: int) -> None:
        self._bar.advance(self._task, done)
