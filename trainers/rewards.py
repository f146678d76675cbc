"""Rewards for PPO: a trained reward-model directory, or harness scorers through an adapter.

TRL's PPO reads a reward as `model.score(backbone(ids).hidden_states[-1])` at the last
response token. `ScorerReward` has that shape: its backbone decodes each rollout back into
(prompt, answer), asks harness scorers (refusal, toxicity, a judge score, ...) for their
per-item values and returns the weighted sum at every position. So any scorer or judge is a
PPO reward without a neural reward model, e.g. `scorers:judge-score=1,toxicity=-2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from harness.core.errors import UserError
from harness.core.records import Completion, Message, Sample
from trainers.config import SCORERS_PREFIX


def parse_scorer_weights(spec: str) -> dict[str, float]:
    """`scorers:refusal=-1,toxicity=-2` -> {"refusal": -1.0, "toxicity": -2.0}."""
    body = spec.removeprefix(SCORERS_PREFIX)
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        name, eq, value = part.partition("=")
        try:
            weights[name.strip()] = float(value) if eq else 1.0
        except ValueError:
            raise UserError(
                f"--reward '{spec}': weight of '{name}' must be a number, got '{value}'"
            ) from None
    if not weights:
        raise UserError(f"--reward '{spec}': name at least one scorer (scorers:NAME=WEIGHT,...)")
    return weights


def prompt_key(ids: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(i) for i in ids)


def load_reward_model(
    spec: str,
    prompts: Sequence[Sequence[Message]],
    encoded: Sequence[Sequence[int]],
    tokenizer: Any,
    context: Any,
) -> Any:
    """The reward module PPO calls: a sequence-classification checkpoint or a ScorerReward
    (`encoded`: each prompt's chat-templated token ids, as the rollouts start)."""
    if spec.startswith(SCORERS_PREFIX):
        from judges.scorers.factory import create_scorer

        weights = parse_scorer_weights(spec)
        scorers = {name: create_scorer(name, context) for name in weights}
        return ScorerReward(scorers, weights, prompts, encoded, tokenizer)
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(Path(spec), num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


class ScorerReward(torch.nn.Module):
    """A reward module for TRL's PPO computed by harness scorers."""

    base_model_prefix = "backbone"

    def __init__(
        self,
        scorers: dict[str, Any],
        weights: dict[str, float],
        prompts: Sequence[Sequence[Message]],
        encoded: Sequence[Sequence[int]],
        tokenizer: Any,
    ) -> None:
        super().__init__()
        self.scorers = scorers
        self.weights = weights
        self.tokenizer = tokenizer
        self.samples = {
            prompt_key(ids): Sample(id=f"p{i}", messages=tuple(chat))
            for i, (chat, ids) in enumerate(zip(prompts, encoded, strict=True))
        }
        self.lengths = sorted({len(k) for k in self.samples}, reverse=True)
        self.unscored = 0
        """Scores a scorer could not give (counted as 0 reward; reported as reward/unscored)."""
        self.backbone = _Backbone(self)

    def score(self, hidden: Any) -> Any:
        return hidden

    def rewards(self, input_ids: Any, attention_mask: Any) -> list[float]:
        from judges.base import ScoreInput

        items = []
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
            tokens = [t for t, m in zip(ids, mask, strict=True) if m]
            sample, answer = self._split(tokens)
            text = self.tokenizer.decode(answer, skip_special_tokens=True)
            items.append(ScoreInput(sample, Completion(text, 0, len(answer), "stop")))
        totals = [0.0] * len(items)
        for name, scorer in self.scorers.items():
            for i, s in enumerate(scorer.score(items)):
                if s.value is None:
                    self.unscored += 1
                    continue
                totals[i] += self.weights[name] * float(s.value)
        return totals

    def _split(self, tokens: list[int]) -> tuple[Sample, list[int]]:
        for n in self.lengths:
            sample = self.samples.get(prompt_key(tokens[:n]))
            if sample is not None:
                return sample, tokens[n:]
        raise RuntimeError("a PPO rollout does not start with any of the training prompts")


class _Backbone(torch.nn.Module):
    """Stands where a reward model's transformer would: returns the reward at every position."""

    def __init__(self, owner: ScorerReward) -> None:
        super().__init__()
        self._owner = [owner]  # a list, so the owner is not registered as a submodule (cycle)

    def forward(self, input_ids: Any, attention_mask: Any, **_: Any) -> SimpleNamespace:
        values = self._owner[0].rewards(input_ids, attention_mask)
        reward = torch.tensor(values, dtype=torch.float32, device=input_ids.device)
        hidden = reward[:, None, None].expand(-1, input_ids.shape[1], 1)
        return SimpleNamespace(hidden_states=[hidden])
