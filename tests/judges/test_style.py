"""The style scorers: length in words and the lists/markdown share, against direct counts."""

from harness.core.records import Completion, Sample
from judges.base import ScoreInput
from judges.scorers.factory import create_scorer


def items(*texts: str) -> list[ScoreInput]:
    return [
        ScoreInput(Sample(id=str(i), prompt="q"), Completion(t, 0, 0, "stop"))
        for i, t in enumerate(texts)
    ]


def test_length_and_format_against_direct_counts() -> None:
    texts = [
        "one two three",
        "- a\n- b",
        "## Title\nbody text here",
        "plain answer " * 5,
        "1. first",
    ]
    length, fmt = create_scorer("length"), create_scorer("format")
    scored_len, scored_fmt = length.score(items(*texts)), fmt.score(items(*texts))
    assert [s.value for s in scored_len] == [float(len(t.split())) for t in texts]
    assert [s.value for s in scored_fmt] == [0.0, 1.0, 1.0, 0.0, 1.0]
    samples = [Sample(id=str(i), prompt="q") for i in range(len(texts))]
    [mean] = length.metrics("s", list(zip(samples, scored_len, strict=True)))
    assert mean.metric == "mean_length_words" and mean.n == 5 and mean.ci_low is None  # n < 10
    assert mean.value == sum(len(t.split()) for t in texts) / 5
    [share] = fmt.metrics("s", list(zip(samples, scored_fmt, strict=True)))
    assert share.metric == "list_markdown_share" and share.value == 0.6 and share.ci_low is not None
