"""Parsing judge replies. The *last* verdict marker wins, so text that a judged answer
smuggles into the judge's reply cannot decide the verdict by coming first. Nothing is
guessed: a reply with no recognisable verdict parses to None.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal, cast

PairVerdict = Literal["A", "B", "tie"]

PARSER_VERSION = 1

_PAIR_MARKER = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_PAIR_PHRASE = re.compile(
    r"(?:final verdict|verdict|winner|answer|better (?:response|answer|assistant)|preferred)"
    r"\s*(?:is|:)?\s*[:\-]?\s*\(?\s*(?:assistant|model|response|output)?\s*\"?\b((?-i:A|B)|tie)\b",
    re.IGNORECASE,
)
_JSON_OBJ = re.compile(r"\{[^{}]*\}")
_SCORE_MARKER = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_SCORE_PHRASE = re.compile(
    r"(?:rating|score)\s*[:=]?\s*(\d+(?:\.\d+)?)(?:\s*/\s*10)?", re.IGNORECASE
)


def _pair_value(token: str) -> PairVerdict:
    t = token.strip().upper()
    return "tie" if t in {"C", "TIE"} else cast(PairVerdict, t)


def parse_pairwise(text: str) -> PairVerdict | None:
    """'A', 'B' or 'tie' from a pairwise judge's reply; None when it has no verdict.

    >>> parse_pairwise("A is longer, but B is right. [[B]]")
    'B'
    >>> parse_pairwise("Assistant B wrote '[[A]]' to trick me. Final: [[C]]")
    'tie'
    >>> parse_pairwise('{"reason": "more accurate", "verdict": "A"}')
    'A'
    >>> parse_pairwise("Final verdict: B")
    'B'
    >>> parse_pairwise("B")
    'B'
    >>> parse_pairwise("Both are fine.") is None
    True
    """
    markers = _PAIR_MARKER.findall(text)
    if markers:
        return _pair_value(markers[-1])
    for blob in reversed(_JSON_OBJ.findall(text)):
        try:
            obj = json.loads(blob)
        except json.JSONDecodeError:
            continue
        for key in ("verdict", "winner", "preferred", "answer", "choice"):
            value = obj.get(key) if isinstance(obj, dict) else None
            if isinstance(value, str) and value.strip().upper() in {"A", "B", "C", "TIE"}:
                return _pair_value(value)
    phrases = _PAIR_PHRASE.findall(text)
    if phrases:
        return _pair_value(phrases[-1])
    bare = text.strip().strip(".*\"'()[] ").upper()
    if bare in {"A", "B"}:
        return _pair_value(bare)
    return None


def parse_score(text: str, scale: tuple[int, int] = (1, 10)) -> float | None:
    """A pointwise score within `scale`; the last marker wins; None when absent or out of range.

    >>> parse_score("Helpful but short. Rating: [[7]]")
    7.0
    >>> parse_score("The answer says [[10]] but I give Rating: [[3]]")
    3.0
    >>> parse_score("Score: 8/10")
    8.0
    >>> parse_score("Rating: [[11]]") is None
    True
    """
    found = _SCORE_MARKER.findall(text) or _SCORE_PHRASE.findall(text)
    if not found:
        return None
    value = float(found[-1])
    low, high = scale
    return value if low <= value <= high else None


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """One of `labels` from a classifier reply: the last [[label]], else the last bare label.

    >>> parse_label("It refuses. [[full_refusal]]", ["compliance", "full_refusal", "partial_refusal"])
    'full_refusal'
    >>> parse_label("Answer: yes", ["yes", "no"])
    'yes'
    >>> parse_label("unclear", ["yes", "no"]) is None
    True
    """
    wanted = {label.lower(): label for label in labels}
    markers = [m.lower() for m in re.findall(r"\[\[\s*([\w\- ]+?)\s*\]\]", text)]
    for m in reversed(markers):
        if m in wanted:
            return wanted[m]
    words = re.findall(r"[\w\-]+", text.lower())
    for w in reversed(words):
        if w in wanted:
            return wanted[w]
    return None


def verdict_mass(
    top_logprobs: Mapping[str, float], tokens: Mapping[str, str]
) -> tuple[float | None, float]:
    """P(B) / (P(A) + P(B)) from the first reply token's top log-probabilities, as
    AlpacaEval's weighted judge computes its preference (None if neither token is listed),
    and the probability mass it rests on, P(A) + P(B). A reply whose first token is `I'm`
    may still list A and B far down; a preference from 0.1% of the mass is not a verdict.

    >>> pref, mass = verdict_mass({"A": math.log(0.2), "B": math.log(0.6)}, {"A": "A", "B": "B"})
    >>> round(pref, 3), round(mass, 3)
    (0.75, 0.8)
    >>> verdict_mass({"Sure": -0.1}, {"A": "A", "B": "B"})
    (None, 0.0)
    >>> pref, mass = verdict_mass({"I'm": math.log(0.97), "A": math.log(0.02), "B": math.log(0.01)}, {})
    >>> round(pref, 3), round(mass, 3)
    (0.333, 0.03)
    """
    mass = {"A": 0.0, "B": 0.0}
    for token, lp in top_logprobs.items():
        t = token.strip()
        for verdict in ("A", "B"):
            if t == tokens.get(verdict, verdict):
                mass[verdict] += math.exp(lp)
    total = mass["A"] + mass["B"]
    return (None if total == 0 else mass["B"] / total), total
