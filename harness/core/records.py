"""Typed records passed between the stages: suite -> engine -> scorers -> store -> reports.

Records written to disk are pydantic models (validated at the edge); in-memory
results are frozen dataclasses. Nothing here imports anything else from the project.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    """Who speaks: system, user or assistant."""
    content: str
    """What is said."""


NO_PROMPT = "(no prompt given)"
"""The prompt of an item scored without one (`harness score` lines may lack it); scorers that
read prompts treat it as unknown."""


class Sample(BaseModel):
    """One prompt of a suite, with what a well-aligned model is expected to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    """Unique within its suite."""
    prompt: str | None = None
    """A single user turn; give either this or `messages`."""
    messages: tuple[Message, ...] | None = None
    """A whole conversation ending in a user turn; give either this or `prompt`."""
    category: str | None = None
    """Free-form category (e.g. XSTest's type), used to break metrics down."""
    should_refuse: bool | None = None
    """True for prompts a safe model refuses; False for safe prompts; None when not applicable."""
    reference: str | None = None
    """Optional reference answer for reference-guided judging."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else the source carried (kept, never interpreted)."""

    @model_validator(mode="after")
    def _one_prompt_form(self) -> Sample:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("'prompt' is empty")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("'messages' is empty")
            if self.messages[-1].role != "user":
                raise ValueError("'messages' must end with a user turn")
        return self

    def chat(self) -> list[Message]:
        """The conversation to send to a chat model."""
        if self.messages is not None:
            return list(self.messages)
        assert self.prompt is not None
        return [Message(role="user", content=self.prompt)]

    def prompt_text(self) -> str:
        """The last user turn, for display."""
        return self.chat()[-1].content


class GenerationParams(BaseModel):
    """Sampling parameters, mapped one to one onto every engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.0, ge=0.0)
    """0 means greedy decoding."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    max_new_tokens: int = Field(default=256, ge=1)
    """Upper bound on completion length in tokens."""
    seed: int = 0
    """Seed for sampling; part of the cache key."""
    n: int = Field(default=1, ge=1)
    """Completions per prompt."""


FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class Completion:
    """One completion of one prompt, as an engine returns it."""

    text: str
    """The generated text, special tokens removed."""
    prompt_tokens: int
    """Tokens in the templated prompt."""
    completion_tokens: int
    """Tokens generated, including the end-of-turn token when one was produced."""
    finish_reason: FinishReason
    """'stop' at end of turn, 'length' at max_new_tokens, 'error' when generation failed."""
    error: str | None = None
    """Why generation failed (finish_reason 'error'); such completions are never cached."""
    top_logprobs: dict[str, float] | None = None
    """Top log-probabilities of the first completion token, by token text, when asked for."""


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one completion.

    `value` is None when the scorer could not decide; `reason` then says why.
    """

    scorer: str
    """Registered scorer name."""
    value: float | None
    """Numeric score (e.g. 1.0 = refusal); None when unscored."""
    label: str | None = None
    """Categorical verdict, when the scorer has one."""
    reason: str | None = None
    """Why, when unscored or when the scorer explains itself."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Per-label sub-scores and the like."""


class MetricValue(BaseModel):
    """One aggregated number with its uncertainty; every reported rate is one of these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: str
    """Suite name, or 'all'."""
    metric: str
    """Metric name, e.g. 'over_refusal_rate'."""
    value: float
    """Point estimate."""
    ci_low: float | None
    """Lower end of the 95% confidence interval; None when no honest interval exists
    (`note` says why)."""
    ci_high: float | None
    """Upper end of the 95% confidence interval; None with `ci_low`."""
    n: int
    """Number of items the value is computed over."""
    scorer: str | None = None
    """Scorer that produced it."""
    note: str | None = None
    """Why there is no interval ("too few answers to tell", "no spread"), when there is none."""


@dataclass(frozen=True)
class ItemResult:
    """One completion of one sample with its scores."""

    suite: str
    sample: Sample
    index: int
    key: str
    completion: Completion
    scores: dict[str, Score]

    def record(self) -> dict[str, Any]:
        """The item as one line of items.jsonl."""
        c = self.completion
        return {
            "suite": self.suite,
            "id": self.sample.id,
            "sample_index": self.index,
            "category": self.sample.category,
            "should_refuse": self.sample.should_refuse,
            "prompt": self.sample.prompt_text(),
            "messages": [m.model_dump() for m in self.sample.chat()],
            "completion": c.text,
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "finish_reason": c.finish_reason,
            "error": c.error,
            "scores": {name: asdict(s) for name, s in self.scores.items()},
        }


@dataclass
class RunResult:
    """What a run produced, plus how much of it came from the store."""

    items: list[ItemResult]
    metrics: list[MetricValue]
    manifest: dict[str, Any]
    generated: int
    """Completions generated by this run."""
    cached: int
    """Completions read from the results store."""
    failed: int
    """Completions that failed (kept with their error; a re-run retries them)."""
    out: Path
    """The output directory (items.jsonl, summary.json, report.html)."""

    def to_pandas(self) -> pd.DataFrame:
        """One row per completion: the columns of items.jsonl, with each scorer's value as
        column `SCORER` and its label as `SCORER_label` (None where it could not decide)."""
        import pandas as pd

        rows = []
        for it in self.items:
            row = {k: v for k, v in it.record().items() if k not in ("messages", "scores")}
            for name, score in it.scores.items():
                row[name] = score.value
                row[f"{name}_label"] = score.label
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics_frame(self) -> pd.DataFrame:
        """One row per metric: suite, scorer, metric, value, 95% CI and n."""
        import pandas as pd

        return pd.DataFrame([m.model_dump() for m in self.metrics])
