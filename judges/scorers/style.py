"""Style scorers: what a judge may reward besides quality, measured on the answers.

- `length`: the answer's length in words; per suite the mean length with a t-interval. As a
  training reward (`scorers:length=-0.05`) it asks for brevity; as an evaluation measure it
  shows how far a policy moved along a judge's length bias.
- `format`: 1 when the answer uses lists or markdown (bullets, numbered items, headings,
  bold, code fences), else 0; per suite the share with a Wilson interval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from harness.core.records import MetricValue, Sample, Score
from harness.core.registry import register
from harness.stats.intervals import FEW, mean_ci, rate, too_few
from judges.base import ScoreInput, ScorerContext

_LIST = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
_MARKDOWN = re.compile(r"(^#{1,6}\s)|(\*\*[^*]+\*\*)|(^```)", re.MULTILINE)


def has_list(text: str) -> bool:
    """Lists or markdown structure (bullets, numbered items, headings, bold, code fences)."""
    return bool(_LIST.search(text) or _MARKDOWN.search(text))


def words(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())


class LengthScorer:
    """Per answer: its length in words; per suite: the mean with a 95% t-interval."""

    name = "length"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "style", "version": "length-words-v1"}

    def score(self, items: Sequence[ScoreInput]) -> list[Score]:
        return [Score(self.name, float(words(it.completion.text)), None) for it in items]

    def metrics(self, suite: str, scored: Sequence[tuple[Sample, Score]]) -> list[MetricValue]:
        values = [float(s.value) for _, s in scored if s.value is not None]
        found = mean_ci(values, suite=suite, metric="mean_length_words", scorer=self.name)
        if found is not None and found.n < FEW:
            found = found.model_copy(
                update={"ci_low": None, "ci_high": None, "note": too_few(found.n, "answers")}
            )
        return [found] if found else []

    def usage(self) -> dict[str, Any] | None:
        return None


class FormatScorer:
    """Per answer: 1 with lists or markdown, else 0; per suite: the share, Wilson 95% CI."""

    name = "format"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "style", "version": "format-lists-markdown-v1"}

    def score(self, items: Sequence[ScoreInput]) -> list[Score]:
        return [Score(self.name, float(has_list(it.completion.text)), None) for it in items]

    def metrics(self, suite: str, scored: Sequence[tuple[Sample, Score]]) -> list[MetricValue]:
        found = rate(
            [s.value == 1.0 for _, s in scored if s.value is not None],
            suite=suite,
            metric="list_markdown_share",
            scorer=self.name,
        )
        return [found] if found else []

    def usage(self) -> dict[str, Any] | None:
        return None


@register("scorer", "length")
def length(context: ScorerContext) -> LengthScorer:
    """Answer length in words (mean with a t-interval)."""
    return LengthScorer()


@register("scorer", "format")
def format_(context: ScorerContext) -> FormatScorer:
    """Share of answers with lists or markdown (Wilson interval)."""
    return FormatScorer()
