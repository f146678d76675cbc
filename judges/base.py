"""The Scorer protocol: (sample, completion) pairs in, one Score each out, plus the metrics
the scorer knows how to aggregate its scores into. Registered under kind "scorer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.records import Completion, MetricValue, Sample, Score
from harness.registry import lookup


@dataclass(frozen=True)
class ScoreInput:
    """What a scorer sees of one item."""

    sample: Sample
    """The suite item (prompt, expected behaviour, reference)."""
    completion: Completion
    """The model's answer."""


class Scorer(Protocol):
    """Scores completions and aggregates the scores."""

    name: str
    """Registered name; the key of this scorer's entry in each item's scores."""

    def spec(self) -> dict[str, Any]:
        """Name, version and arguments: stored with results and hashed into cache keys."""
        ...

    def score(self, items: Sequence[ScoreInput]) -> list[Score]:
        """One score per item, in order."""
        ...

    def metrics(self, suite: str, scored: Sequence[tuple[Sample, Score]]) -> list[MetricValue]:
        """Aggregates over one suite's scored items, each with a CI and n."""
        ...


def create_scorer(name: str, **options: Any) -> Scorer:
    """Build the scorer registered as `name`."""
    import judges.refusal_rules  # noqa: F401  (registers the built-in scorers)

    scorer: Scorer = lookup("scorer", name)(**options)
    return scorer
