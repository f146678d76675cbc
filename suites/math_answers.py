"""Final answers of math solutions: where a solution states its answer, and when two answers
are the same number (8, 8.0 and $8 are one answer)."""

from __future__ import annotations

import math
import re

_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"


_FINAL_PATTERNS = (
    re.compile(r"####\s*(" + _NUMBER + ")"),
    re.compile(r"\\boxed\{\s*(" + _NUMBER + r")\s*\}"),
    re.compile(r"answer is\s*:?\s*(" + _NUMBER + ")", re.IGNORECASE),
)


def as_number(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("$", "").rstrip(".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def final_answer(solution: str) -> str | None:
    """The solution's final answer: the last `#### N`, `\\boxed{N}` or `the answer is N`,
    else the last number in the text; None when it has no number."""
    for pattern in _FINAL_PATTERNS:
        found = pattern.findall(solution)
        if found:
            return str(found[-1]).replace(",", "").replace("$", "")
    numbers = re.findall(_NUMBER, solution)
    return numbers[-1].replace(",", "").replace("$", "").rstrip(".") if numbers else None


def normalised_answer(answer: str) -> str:
    """One spelling per answer (`8`, `8.0` and `$8` alike), for counting votes."""
    value = as_number(answer)
    return repr(value) if value is not None else answer.strip().lower()


def answers_match(predicted: str | None, reference: str) -> bool:
    """Numeric equality (to 1e-6 relative) when both parse as numbers, else equal text."""
    if predicted is None:
        return False
    a, b = as_number(predicted), as_number(reference)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return predicted.strip().lower() == reference.strip().lower()
