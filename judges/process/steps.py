"""Splitting a chain-of-thought answer into the steps a process judge labels.

`auto` takes numbered steps ("Step 2:", "2." or "2)" at a line start) when there are at
least two, else non-empty lines when there are at least two, else sentences. GSM8K's
`#### N` answer line is not a step (it restates the final answer).
"""

from __future__ import annotations

import re
from typing import Literal

SplitMode = Literal["auto", "numbered", "lines", "sentences"]
_NUMBERED = re.compile(r"(?m)^\s*(?:step\s*\d+\s*[:.)]|\d+\s*[.)])\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_ANSWER_LINE = re.compile(r"^\s*####")


def _numbered(text: str) -> list[str]:
    starts = [m.start() for m in _NUMBERED.finditer(text)]
    if not starts:
        return []
    chunks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    head = text[: starts[0]].strip()
    steps = [_NUMBERED.sub("", c, count=1).strip() for c in chunks]
    return [s for s in ([head] if head else []) + steps if s]


def split_steps(text: str, mode: SplitMode = "auto") -> list[str]:
    """The steps of `text`, in order, stripped; never empty for non-blank text."""
    lines = [ln for ln in text.splitlines() if not _ANSWER_LINE.match(ln)]
    body = "\n".join(lines).strip()
    if not body:
        return []
    if mode in ("auto", "numbered"):
        steps = _numbered(body)
        if len(steps) >= 2 or (mode == "numbered" and steps):
            return steps
        if mode == "numbered":
            return [body]
    non_empty = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if mode == "lines" or (mode == "auto" and len(non_empty) >= 2):
        return non_empty
    return [s.strip() for s in _SENTENCE_END.split(" ".join(non_empty)) if s.strip()]
