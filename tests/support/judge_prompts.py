"""Reading a pairwise judge prompt, for the scripted judges the tests put behind the fake
endpoint."""

from __future__ import annotations

import re
from typing import Any


def answers(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The two answers a `pairwise-v1` prompt shows, in the order shown (A, B)."""
    text = messages[-1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", text, re.S)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End", text, re.S)
    assert a and b
    return a.group(1), b.group(1)
