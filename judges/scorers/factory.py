"""Building a scorer by its registered name; importing this module registers the built-ins."""

from __future__ import annotations

from typing import Any

from harness.core.registry import lookup
from judges.base import Scorer, ScorerContext
from judges.scorers import diversity, judge_backed, style, toxicity
from judges.scorers.refusal import classifier, detector, reader, rules

BUILTIN = (diversity, judge_backed, style, toxicity, classifier, detector, reader, rules)
"""The modules whose import registers the built-in scorers."""


def lookup_scorer(name: str) -> Any:
    """The factory registered as `name` (a UserError suggesting a close name on a miss)."""
    return lookup("scorer", name)


def create_scorer(name: str, context: ScorerContext | None = None) -> Scorer:
    """Build the scorer registered as `name`."""
    scorer: Scorer = lookup_scorer(name)(context or ScorerContext())
    return scorer
