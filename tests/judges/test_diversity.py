"""Diversity metrics against independent computations: sacrebleu for self-BLEU, brute
force for distinct-n's jackknife and for pairwise embedding distance."""

import random

import numpy as np
import pytest
import sacrebleu

from harness.core.records import Sample
from harness.stats.intervals import mean_ci
from judges.scorers.diversity import (
    _metric,
    corpus_diversity,
    distinct_n,
    distinct_n_ci,
    ngrams,
    pairwise_distance_ci,
    self_bleu,
    tokenize,
)

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "and",
    "dog",
    "ran",
    "to",
    "park",
    "with",
    "big",
    "red",
    "ball",
]


def corpus(size: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(WORDS) for _ in range(rng.randint(1, 14))] for _ in range(size)]


@pytest.mark.parametrize("seed", [0, 1, 2, -1])
def test_self_bleu_matches_sacrebleu(seed: int) -> None:
    texts = corpus(12, seed)
    if seed == -1:  # answers that share no word with any other: sacrebleu scores them 0
        texts = [[f"w{i}x{k}" for k in range(1 + i % 6)] for i in range(8)] + texts[:4]
    ours = self_bleu(texts)
    for i, hyp in enumerate(texts):
        refs = [" ".join(t) for j, t in enumerate(texts) if j != i]
        theirs = sacrebleu.sentence_bleu(
            " ".join(hyp), refs, smooth_method="floor", smooth_value=0.1, tokenize="none"
        ).score
        assert ours[i] * 100 == pytest.approx(theirs, abs=1e-6)


def test_distinct_n_and_exact_jackknife() -> None:
    texts = corpus(15, 3)
    for n in (1, 2):
        grams = [g for t in texts for g in ngrams(t, n)]
        assert distinct_n(texts, n) == len(set(grams)) / len(grams)
        value, low, high = distinct_n_ci(texts, n) or (0, 0, 0)
        loo = np.array([distinct_n(texts[:i] + texts[i + 1 :], n) for i in range(len(texts))])
        size = len(texts)
        se = np.sqrt((size - 1) / size * ((loo - loo.mean()) ** 2).sum())
        assert value == distinct_n(texts, n) and low is not None and high is not None
        assert (low, high) == pytest.approx((max(0, value - 1.96 * se), min(1, value + 1.96 * se)))


def test_pairwise_distance_brute_force() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(9, 5))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    brute = np.mean([1 - emb[i] @ emb[j] for i in range(9) for j in range(9) if i != j])
    value, low, high = pairwise_distance_ci(emb) or (0, 0, 0)
    assert low is not None and high is not None
    assert value == pytest.approx(brute) and low < value < high


def test_no_zero_width_interval_from_a_degenerate_sample() -> None:
    """Two answers have one distance: every bootstrap resample with a pair gives it back,
    so the percentile interval is [d, d]. The metric then has no interval and says why;
    from FEW answers on, a varied sample keeps its interval."""
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(12, 5))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    value, low, high = pairwise_distance_ci(emb[:2]) or (0, 0, 0)
    assert low == high == pytest.approx(value)  # the degenerate bootstrap itself
    two = _metric("s", "embedding_distance", (value, low, high), 2)
    assert two is not None and two.ci_low is None and two.ci_high is None
    assert two.note is not None and "too few answers" in two.note and "n = 2" in two.note
    twelve = _metric("s", "embedding_distance", pairwise_distance_ci(emb), 12)
    assert twelve is not None and twelve.ci_low is not None and twelve.ci_high is not None
    assert twelve.ci_low < twelve.value < twelve.ci_high and twelve.note is None
    flat = _metric("s", "distinct_2", (0.5, 0.5, 0.5), 40)  # resamples that never vary
    assert flat is not None and flat.ci_low is None and flat.note and "never" in flat.note
    same = mean_ci([0.0] * 30, suite="s", metric="self_bleu")  # no spread at all
    assert same is not None and same.ci_low is None and same.note and "equal" in same.note


@pytest.mark.model
def test_corpus_metrics_rank_diverse_above_repetitive() -> None:
    varied = [
        "Paris is the capital of France.",
        "Photosynthesis turns light into chemical energy.",
        "Use a hash map for constant-time lookups.",
        "The Nile flows north into the Mediterranean.",
    ]
    same = ["I'm sorry, but I can't help with that."] * 3 + ["I'm sorry, I can't help with that."]
    samples = [Sample(id=f"p{i // 2}", prompt="p") for i in range(4)]

    def metrics(texts: list[str]) -> dict[str, float]:
        found = corpus_diversity("s", list(zip(samples, texts, strict=True)))
        return {m.metric: m.value for m in found}

    a, b = metrics(varied), metrics(same)
    for name in ("distinct_1", "distinct_2", "embedding_distance", "within_prompt_distinct_2"):
        assert a[name] > b[name]
    assert a["self_bleu"] < b["self_bleu"]
    assert b["within_prompt_embedding_distance"] < 0.05


def test_tokenize() -> None:
    assert tokenize("Don't stop!") == ["don", "'", "t", "stop", "!"]
