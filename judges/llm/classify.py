"""Classification judging: one response labelled with one of the template's labels
(e.g. XSTest's three refusal classes, or HarmBench-style harmful yes/no)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.core.errors import UserError
from judges.llm.judge import Judge
from judges.llm.parsing import parse_label
from judges.llm.pointwise import PointItem, ask_each


@dataclass(frozen=True)
class ClassResult:
    """The label, or why there is none."""

    id: str
    label: str | None
    raw: str | None
    error: str | None
    status: Literal["ok", "unparsed", "failed", "split"]
    """`split`: a panel whose members' labels have no majority (judges/panel/)."""
    members: tuple[ClassResult, ...] = ()
    """A panel's label: every member's own result on the item."""


def judge_classify(
    judge: Judge, items: Sequence[PointItem], on_done: Callable[[int], None] | None = None
) -> list[ClassResult]:
    """Label every item once."""
    labels = judge.template.config.labels
    if not labels:
        raise UserError(
            f"judge template '{judge.template.name}' has no labels; use a classify template"
        )
    out = []
    for it, reply in zip(items, ask_each(judge, items, on_done), strict=True):
        if reply.error is not None or reply.text is None:
            out.append(ClassResult(it.id, None, reply.text, reply.error or "no reply", "failed"))
            continue
        label = parse_label(reply.text, labels)
        status: Literal["ok", "unparsed"] = "ok" if label is not None else "unparsed"
        out.append(
            ClassResult(it.id, label, reply.text, None if label else "unparsed label", status)
        )
    return out
