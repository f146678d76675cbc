"""Scorers and judges: things that look at a completion and say something about it.

Importing this package is cheap: `create_scorer` (which imports every built-in scorer so
they register) loads on first use.
"""

from __future__ import annotations

from typing import Any

from judges.base import ScoreInput, Scorer

__all__ = ["ScoreInput", "Scorer", "create_scorer"]


def __getattr__(name: str) -> Any:
    if name == "create_scorer":
        from judges.scorers.factory import create_scorer

        return create_scorer
    raise AttributeError(f"module 'judges' has no attribute '{name}'")
