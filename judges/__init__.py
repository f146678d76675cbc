"""Scorers and judges: things that look at a completion and say something about it."""

from judges.base import ScoreInput, Scorer
from judges.scorers.factory import create_scorer

__all__ = ["ScoreInput", "Scorer", "create_scorer"]
