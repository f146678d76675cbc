"""Rewards for TRL's online trainers (GRPO, RLOO, online DPO), which call reward functions
with the batch's prompts and sampled completions:

- `scorers:NAME=WEIGHT,...`: harness scorers' per-item values, weighted and summed
  (`ScorerRewardFunction`). A rollout some scorer could not score gets None: TRL leaves
  it out of that function's reward (NaN), and it is counted as `reward/unscored`.
- a reward-model directory: handed to TRL, which loads it as a sequence classifier.
- a pairwise judge (online DPO's preference source, `JudgePreference`): the two rollouts of
  each prompt judged in both orders (position swap); the preferred one gets 1, the other 0,
  a tie 0.5 each, and a pair without a verdict None for both. TRL's online DPO keeps the
  first rollout as "chosen" when the rewards are equal, so ties and pairs without a verdict
  are counted (`judge/ties`, `judge/no_verdict`) and reported with the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.core.records import Completion, Message, Sample
from trainers.rewards import parse_scorer_weights


def _sample(i: int, prompt: Any) -> Sample:
    """A rollout's prompt as a harness Sample (conversational or plain text)."""
    if isinstance(prompt, str):
        return Sample(id=f"r{i}", prompt=prompt)
    return Sample(id=f"r{i}", messages=tuple(Message(**m) for m in prompt))


def _text(completion: Any) -> str:
    """A completion's text (conversational completions are one assistant message)."""
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content", "")) for m in completion)


class ScorerRewardFunction:
    """A weighted sum of harness scorers as a TRL reward function."""

    __name__ = "scorers"
    """TRL names a reward function's logged reward after `__name__`."""

    def __init__(self, spec: str, context: Any) -> None:
        from judges.scorers.factory import create_scorer

        self.weights = parse_scorer_weights(spec)
        self.scorers = {name: create_scorer(name, context) for name in self.weights}
        self.unscored = 0
        """Rollouts some scorer could not score (no reward from this function)."""

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **_: Any
    ) -> list[float | None]:
        from judges.base import ScoreInput

        items = [
            ScoreInput(_sample(i, p), Completion(_text(c), 0, 0, "stop"))
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True))
        ]
        totals: list[float | None] = [0.0] * len(items)
        for name, scorer in self.scorers.items():
            for i, score in enumerate(scorer.score(items)):
                total = totals[i]
                if total is None:
                    continue
                if score.value is None:
                    totals[i] = None
                    self.unscored += 1
                else:
                    totals[i] = total + self.weights[name] * float(score.value)
        return totals


class JudgePreference:
    """A pairwise judge (or panel) as online DPO's preference: rollouts i and i + n of a
    batch of 2n are the two samples of prompt i."""

    __name__ = "judge"

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.pairs = 0
        self.ties = 0
        self.no_verdict = 0

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **_: Any
    ) -> list[float | None]:
        from judges.llm.verdicts import PairItem
        from judges.panel.panel import pairwise

        n = len(prompts) // 2
        if len(prompts) != 2 * n or len(completions) != len(prompts):
            raise ValueError("online DPO scores two rollouts per prompt, in two halves")
        items = [
            PairItem(
                str(i), _sample(i, prompts[i]).prompt_text(), _text(completions[i]),
                _text(completions[i + n]),
            )
            for i in range(n)
        ]  # fmt: skip
        rewards: list[float | None] = [None] * (2 * n)
        for i, result in enumerate(pairwise(self.judge, items)):
            self.pairs += 1
            if result.verdict is None or result.preference is None:
                self.no_verdict += 1
                continue
            self.ties += result.verdict == "tie"
            rewards[i], rewards[i + n] = 1.0 - result.preference, result.preference
        return rewards

    def metrics(self) -> dict[str, float]:
        return {
            "judge/pairs": float(self.pairs),
            "judge/ties": float(self.ties),
            "judge/no_verdict": float(self.no_verdict),
        }
