"""Pointwise judging: one response graded on the template's scale (optionally against a reference)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from judges.llm.backends import JudgeReply
from judges.llm.judge import Judge
from judges.llm.parsing import parse_score


@dataclass(frozen=True)
class PointItem:
    """One response to grade."""

    id: str
    prompt: str
    response: str
    reference: str | None = None


@dataclass(frozen=True)
class PointResult:
    """The grade, or why there is none."""

    id: str
    score: float | None
    raw: str | None
    error: str | None
    status: Literal["ok", "unparsed", "failed"]
    members: tuple[PointResult, ...] = ()
    """A panel's grade: every member's own result on the item."""


def ask_each(
    judge: Judge, items: Sequence[PointItem], on_done: Callable[[int], None] | None = None
) -> list[JudgeReply]:
    """One judge reply per single-response item (shared by pointwise and classify judging)."""
    requests = [
        judge.request(prompt=it.prompt, response=it.response, reference=it.reference)
        for it in items
    ]
    return judge.ask(requests, on_done)


def judge_pointwise(
    judge: Judge, items: Sequence[PointItem], on_done: Callable[[int], None] | None = None
) -> list[PointResult]:
    """Grade every item once."""
    out = []
    for it, reply in zip(items, ask_each(judge, items, on_done), strict=True):
        if reply.error is not None or reply.text is None:
            out.append(PointResult(it.id, None, reply.text, reply.error or "no reply", "failed"))
            continue
        score = parse_score(reply.text, judge.template.config.scale)
        if score is None:
            out.append(PointResult(it.id, None, reply.text, "unparsed score", "unparsed"))
        else:
            out.append(PointResult(it.id, score, reply.text, None, "ok"))
    return out
