"""How long jobs report progress: a protocol the CLI implements with a bar (count, rate, ETA)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of the generation stage (the CLI shows a bar with rate and ETA)."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class SilentProgress:
    """Progress that shows nothing (library use and tests)."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass
