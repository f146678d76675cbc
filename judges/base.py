"""The Scorer protocol: (sample, completion) pairs in, one Score each out, plus the metrics
the scorer knows how to aggregate its scores into. Registered under kind "scorer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.core.records import Completion, MetricValue, Sample, Score
from harness.core.store import ResultsStore
from judges.llm.client import JudgeClient


@dataclass(frozen=True)
class ScoreInput:
    """What a scorer sees of one item."""

    sample: Sample
    """The suite item (prompt, expected behaviour, reference)."""
    completion: Completion
    """The model's answer."""


@dataclass(frozen=True)
class ScorerContext:
    """What a run offers its scorers; each factory takes what it needs."""

    judge: str | None = None
    """Judge spec for judge-backed scorers (`openai:MODEL`, `local:MODEL`, or a panel file)."""
    panel: tuple[str, ...] = ()
    """More judges deciding with `judge` as a panel (judges/panel/)."""
    panel_aggregate: str = "vote"
    """How a panel decides: majority label / median grade (`vote`), or mean grade (`mean`)."""
    judge_base_url: str | None = None
    """Endpoint for an `openai:` judge (else OPENAI_BASE_URL)."""
    judge_client: JudgeClient = field(default_factory=JudgeClient)
    """Timeout, retries, requests in flight and output-token cap of judge requests."""
    store: ResultsStore | None = None
    """The run's results store, for caching judge replies."""
    toxicity_model: str | None = None
    """detoxify model for the toxicity scorer: `minilm` (default), a released name, or a path."""
    toxicity_config: str | None = None
    """HF config + tokenizer directory for loading a detoxify checkpoint offline."""
    device: str = "cpu"
    """Where scorer models run."""


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

    def usage(self) -> dict[str, Any] | None:
        """What the scorer spent (judge requests, tokens, time, cost), or None."""
        ...


class CorpusScorer(Scorer, Protocol):
    """A scorer whose metrics need the answers themselves, not just per-item scores
    (diversity): the runner also calls `corpus_metrics` with each suite's answer texts."""

    def corpus_metrics(self, suite: str, rows: Sequence[tuple[Sample, str]]) -> list[MetricValue]:
        """Set-level aggregates over one suite's (sample, answer text) rows."""
        ...
