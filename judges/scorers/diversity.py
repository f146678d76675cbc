"""Output diversity of a model on a suite (seed: DPO keeps more diversity than RLHF):
distinct-1/2, self-BLEU, mean pairwise embedding distance, and for n > 1 samples per
prompt the same within each prompt's samples. Each with a CI and its n.

Diversity is a property of a set of answers, so besides the per-item score (the answer's
own distinct-2, i.e. how repetitive it is) this scorer has `corpus_metrics`, which the
runner calls with the answer texts.

- distinct-n: unique n-grams / all n-grams over the suite's answers, as most
  implementations compute it. Li et al. (2016), who introduced it, divide by the number of
  tokens instead; the two agree for n = 1, and for n = 2 ours is higher by the factor
  tokens / bigrams. 95% CI from a delete-one jackknife over answers.
- self-BLEU: each answer's BLEU-4 against all the others as references (Zhu et al., 2018),
  sacrebleu's sentence BLEU (floor smoothing 0.1, effective order, closest reference
  length, 0 when no n-gram matches at all) computed for all answers at once; mean with a
  t-interval over answers.
- embedding distance: mean cosine distance between MiniLM embeddings of distinct answers
  (of their first 1,000 characters); CI from a bootstrap over answers.

Under `FEW` answers a resampling interval is not worth stating (two answers have one
distance, and every bootstrap resample that has a pair gives it back: a zero-width
interval): the value is given without an interval, with a note. So is one whose resamples
do not vary.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.core.records import MetricValue, Sample, Score
from harness.core.registry import register
from harness.stats.intervals import FEW, mean_ci, too_few
from judges.base import ScoreInput, ScorerContext

RESAMPLES = 1000
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks."""
    return _TOKEN.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float | None:
    """Unique n-grams over all n-grams in the answers (None when there are none)."""
    grams = [g for tokens in token_lists for g in ngrams(tokens, n)]
    return len(set(grams)) / len(grams) if grams else None


def _percentile_ci(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


Found = tuple[float, float | None, float | None]
"""(value, ci_low, ci_high); no interval is (value, None, None)."""


def distinct_n_ci(token_lists: Sequence[Sequence[str]], n: int) -> Found | None:
    """distinct-n with a delete-one jackknife 95% CI over answers: (value, low, high).

    A bootstrap would resample answers with replacement, and duplicated answers lower
    distinct-n by construction; leaving one answer out at a time has no such bias, and each
    leave-one-out value is exact: the unique n-grams lost are those only that answer has.
    """
    holders: Counter[tuple[str, ...]] = Counter()
    per_answer = []
    for tokens in token_lists:
        grams = ngrams(tokens, n)
        per_answer.append((set(grams), len(grams)))
        holders.update(set(grams))
    unique, total = len(holders), sum(t for _, t in per_answer)
    if total == 0:
        return None
    value = unique / total
    size = len(per_answer)
    if size < 2:
        return value, None, None
    own = np.array([sum(holders[g] == 1 for g in grams) for grams, _ in per_answer], dtype=float)
    lengths = np.array([t for _, t in per_answer], dtype=float)
    rest = np.maximum(total - lengths, 1)
    loo = (unique - own) / rest
    se = math.sqrt((size - 1) / size * float(((loo - loo.mean()) ** 2).sum()))
    return value, max(0.0, value - 1.96 * se), min(1.0, value + 1.96 * se)


def self_bleu(
    token_lists: Sequence[Sequence[str]], max_n: int = 4, floor: float = 0.1
) -> list[float]:
    """Each answer's sentence BLEU (0-1, sacrebleu's score / 100) against all the others.

    Clipping needs, per n-gram, the largest count among the *other* answers: keeping the
    top two counts and the top holder gives it for every answer in one pass.
    """
    size = len(token_lists)
    if size < 2:
        return []
    counts = [[Counter(ngrams(t, n)) for n in range(1, max_n + 1)] for t in token_lists]
    best: list[dict[tuple[str, ...], tuple[int, int, int]]] = [{} for _ in range(max_n)]
    for i, per_n in enumerate(counts):
        for k, counter in enumerate(per_n):
            table = best[k]
            for g, c in counter.items():
                first, holder, second = table.get(g, (0, -1, 0))
                if c > first:
                    table[g] = (c, i, first)
                elif c > second:
                    table[g] = (first, holder, c)
    lengths = np.array([len(t) for t in token_lists])
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    scores = []
    for i, per_n in enumerate(counts):
        hyp_len = len(token_lists[i])
        log_precisions = []
        matched = 0
        for k, counter in enumerate(per_n):
            total = max(hyp_len - k, 0)
            if total == 0:
                break  # effective order: no n-grams of this size in the answer
            table = best[k]
            correct = 0
            for g, c in counter.items():
                first, holder, second = table[g]
                correct += min(c, second if holder == i else first)
            matched += correct
            log_precisions.append(math.log((correct if correct else floor) / total))
        if not log_precisions or matched == 0:
            scores.append(0.0)  # sacrebleu: no match of any order scores 0, not the floor
            continue
        ref_len = _closest_other_length(sorted_lengths, order, i, hyp_len)
        bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
        scores.append(bp * math.exp(sum(log_precisions) / len(log_precisions)))
    return scores


def _closest_other_length(
    sorted_lengths: np.ndarray, order: np.ndarray, skip: int, hyp_len: int
) -> int:
    """The other answers' length closest to hyp_len (the shorter one on a tie)."""
    pos = int(np.searchsorted(sorted_lengths, hyp_len))
    candidates = []
    for j in range(max(0, pos - 2), min(len(order), pos + 3)):
        if order[j] != skip:
            candidates.append(int(sorted_lengths[j]))
    return min(candidates, key=lambda r: (abs(r - hyp_len), r))


def pairwise_distance_ci(
    emb: np.ndarray, resamples: int = RESAMPLES, seed: int = 0
) -> Found | None:
    """Mean cosine distance between distinct answers, with a bootstrap CI over answers."""
    size = len(emb)
    if size < 2:
        return None
    dist = 1.0 - np.clip(emb @ emb.T, -1.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    value = dist.sum() / (size * (size - 1))
    rng = np.random.default_rng(seed)
    weights = np.stack(
        [np.bincount(rng.integers(0, size, size), minlength=size) for _ in range(resamples)]
    ).astype(float)
    pairs = weights.sum(1) ** 2 - (weights**2).sum(1)
    boot = np.einsum("bi,ij,bj->b", weights, dist, weights) / np.maximum(pairs, 1)
    low, high = _percentile_ci(boot[pairs > 0])
    return float(value), low, high


def _metric(suite: str, metric: str, found: Found | None, n: int) -> MetricValue | None:
    if found is None:
        return None
    value, low, high = found
    m = MetricValue(
        suite=suite, metric=metric, value=value, ci_low=low, ci_high=high, n=n, scorer="diversity"
    )
    return _honest(m, "answers")


def _honest(m: MetricValue | None, unit: str) -> MetricValue | None:
    """No interval under `FEW` items, nor one of zero width (resamples that never vary)."""
    if m is None:
        return m
    if m.n < FEW:
        return m.model_copy(update={"ci_low": None, "ci_high": None, "note": too_few(m.n, unit)})
    if m.ci_low is None:
        return m
    if m.ci_low == m.ci_high:
        note = f"the {m.n} {unit} resampled never give another value: no interval"
        return m.model_copy(update={"ci_low": None, "ci_high": None, "note": note})
    return m


def corpus_diversity(suite: str, rows: Sequence[tuple[Sample, str]]) -> list[MetricValue]:
    """All diversity metrics of one suite's answers (several per prompt when n > 1)."""
    from judges.scorers.embeddings import embed

    if len(rows) < 2:
        return []
    tokens = [tokenize(text) for _, text in rows]
    n = len(rows)
    found: list[MetricValue | None] = [
        _metric(suite, "distinct_1", distinct_n_ci(tokens, 1), n),
        _metric(suite, "distinct_2", distinct_n_ci(tokens, 2), n),
        _honest(
            mean_ci(self_bleu(tokens), suite=suite, metric="self_bleu", scorer="diversity"),
            "answers",
        ),
    ]
    emb = embed([text for _, text in rows])
    found.append(_metric(suite, "embedding_distance", pairwise_distance_ci(emb), n))
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for i, (sample, _) in enumerate(rows):
        by_prompt[sample.id].append(i)
    groups = [idx for idx in by_prompt.values() if len(idx) > 1]
    if groups:
        within_emb, within_d2 = [], []
        for idx in groups:
            sub = emb[idx]
            dist = 1.0 - np.clip(sub @ sub.T, -1.0, 1.0)
            within_emb.append(float(dist.sum() / (len(idx) * (len(idx) - 1))))
            d2 = distinct_n([tokens[i] for i in idx], 2)
            if d2 is not None:
                within_d2.append(d2)
        found.append(
            _honest(
                mean_ci(
                    within_emb,
                    suite=suite,
                    metric="within_prompt_embedding_distance",
                    scorer="diversity",
                ),
                "prompts",
            )
        )
        found.append(
            _honest(
                mean_ci(
                    within_d2, suite=suite, metric="within_prompt_distinct_2", scorer="diversity"
                ),
                "prompts",
            )
        )
    return [m for m in found if m is not None]


class DiversityScorer:
    """Per answer: its own distinct-2 (1 = no repeated bigram); per suite: the set metrics."""

    name = "diversity"

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "diversity", "version": "diversity-v1"}

    def score(self, items: Sequence[ScoreInput]) -> list[Score]:
        found = []
        for item in items:
            own = distinct_n([tokenize(item.completion.text)], 2)
            found.append(Score(self.name, None if own is None else round(own, 6), None))
        return found

    def metrics(self, suite: str, scored: Sequence[tuple[Sample, Score]]) -> list[MetricValue]:
        own = [s.value for _, s in scored if s.value is not None]
        found = _honest(
            mean_ci(own, suite=suite, metric="answer_distinct_2", scorer=self.name), "answers"
        )
        return [found] if found else []

    def corpus_metrics(self, suite: str, rows: Sequence[tuple[Sample, str]]) -> list[MetricValue]:
        return corpus_diversity(suite, rows)

    def usage(self) -> dict[str, Any] | None:
        return None


@register("scorer", "diversity")
def diversity(context: ScorerContext) -> DiversityScorer:
    """Diversity: distinct-1/2, self-BLEU, embedding distance (+ within-prompt for n > 1)."""
    return DiversityScorer()
