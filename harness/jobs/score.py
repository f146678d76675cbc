"""`harness score KIND --input F.jsonl --output G.jsonl`: score completions made elsewhere.

Input lines carry `id`, `prompt`, `completion` (or `text`), and optionally `should_refuse`
(for the safety and over-refusal rates) and `category`. Toxicity reads only the answer:
its lines need no `prompt`, and a line without an `id` is named by its line number. Scores
go through the results store like a run's (so a killed job resumes where it stopped),
then the output file is written at once.
Each output line is `id`, the scorer's label (or value) under its name, `NAME_score` when
there is a label, and the scorer's sub-scores (refusal: class probabilities; toxicity:
every detoxify label).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.core.atomic import write_text_atomic
from harness.core.errors import InputError
from harness.core.paths import check_out_file
from harness.core.progress import Progress
from harness.core.records import NO_PROMPT, Completion, ItemResult, MetricValue, Sample
from harness.core.store import ResultsStore, content_key
from harness.core.validation import validated_rows
from harness.jobs.run import aggregate, score_stage
from judges.base import ScorerContext
from judges.scorers.factory import create_scorer

PROMPT_FREE_SCORERS = frozenset({"toxicity"})
"""Scorers that read only the answer: their input lines need no `prompt`."""


class _CompletionRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    prompt: str | None = None
    completion: str | None = None
    text: str | None = None
    """Another name for `completion` (detoxify-style text files)."""
    should_refuse: bool | None = None
    category: str | None = None

    @property
    def answer(self) -> str:
        return self.completion if self.completion is not None else str(self.text)


def read_completions(path: Path, needs_prompt: bool = True) -> list[ItemResult]:
    """Validated input rows as unscored items (errors name the file, line and field). A row
    without an `id` is named by its line number."""
    items = []
    for line, row in validated_rows(path, _CompletionRow, line_ids=True):
        if (row.completion is None) == (row.text is None):
            said = (
                "has both 'completion' and 'text': give one"
                if row.completion is not None
                else "needs 'completion' (or 'text'): the answer to score"
            )
            raise InputError(path, said, line=line, field="completion")
        if needs_prompt and row.prompt is None:
            raise InputError(
                path,
                "this scorer reads the prompt; give one (toxicity alone needs only the answer)",
                line=line,
                field="prompt",
            )
        sample = Sample(
            id=row.id,
            prompt=row.prompt or NO_PROMPT,
            should_refuse=row.should_refuse,
            category=row.category,
        )
        key = content_key("completion", row.prompt or "", row.answer)
        items.append(
            ItemResult(path.stem, sample, 0, key, Completion(row.answer, 0, 0, "stop"), {})
        )
    return items


def output_line(item: ItemResult, scorer: str) -> dict[str, Any]:
    """One output record: id, label or value under the scorer's name, sub-scores."""
    score = item.scores[scorer]
    line: dict[str, Any] = {"id": item.sample.id}
    if score.label is not None:
        line[scorer] = score.label
        line[f"{scorer}_score"] = score.value
    else:
        line[scorer] = score.value
    line.update({k: v for k, v in score.extra.items() if k not in line})
    if score.reason:
        line[f"{scorer}_reason"] = score.reason
    return line


@dataclass(frozen=True)
class ScoreFileResult:
    items: list[ItemResult]
    metrics: list[MetricValue]
    spec: dict[str, Any]


def score_file(
    kind: str,
    input_path: Path,
    output_path: Path,
    context: ScorerContext,
    store_path: Path,
    progress: Progress | None = None,
) -> ScoreFileResult:
    """Score every row of `input_path` with scorer `kind`; write `output_path` atomically."""
    items = read_completions(input_path, needs_prompt=kind not in PROMPT_FREE_SCORERS)
    check_out_file(output_path)
    with ResultsStore(store_path) as store:
        scorer = create_scorer(kind, replace(context, store=store))
        scored = score_stage([scorer], store, items, progress)
        metrics = aggregate([scorer], scored, [input_path.stem], store)
    text = "".join(json.dumps(output_line(it, scorer.name)) + "\n" for it in scored)
    write_text_atomic(output_path, text)
    return ScoreFileResult(scored, metrics, scorer.spec())
