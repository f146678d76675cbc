"""Pinning a canary and checking a judge against it.

`pin` judges each pair in both orders twice, with no results store (both judgings are
fresh replies), and keeps the first judging's verdict, the repeat's, the judge's spec,
template and the identity its endpoint reported, and the date. `check` judges the pairs
(or a seeded sample of them) once more, fresh, and tests whether agreement with the pinned
verdicts fell below what the judge's own repeat agreement predicts
(`harness.stats.drift`); it also says when the endpoint now names another model.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from harness.core.errors import UserError
from harness.stats.drift import ALPHA, drift_test
from judges.llm.judge import Judge, served_identities
from judges.llm.pairwise import judge_pairwise
from judges.llm.verdicts import PairItem

VERSION = 1
"""The canary file format."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _served(judge: Judge) -> list[dict[str, Any]]:
    return list(judge.usage().get("served", []))


def pin(
    judge: Judge, items: Sequence[PairItem], on_done: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """The canary record: every pair's verdict (both orders, inconsistent = tie), its
    repeat verdict, the repeat agreement, and who judged."""
    if judge.store is not None:
        raise ValueError("a canary is judged without a results store (fresh replies only)")
    first = judge_pairwise(judge, items, on_done=on_done)
    again = judge_pairwise(judge, items, on_done=on_done)
    pairs = [
        {
            "id": item.id,
            "prompt": item.prompt,
            "response_a": item.response_a,
            "response_b": item.response_b,
            "verdict": a.verdict,
            "repeat_verdict": b.verdict,
        }
        for item, a, b in zip(items, first, again, strict=True)
    ]
    both = [p for p in pairs if p["verdict"] is not None and p["repeat_verdict"] is not None]
    return {
        "version": VERSION,
        "pinned_at": _now(),
        "judge": judge.describe(),
        "template": judge.template.name,
        "template_id": judge.template.id,
        "served": _served(judge),
        "usage": judge.usage(),
        "repeat_agreement": {
            "agree": sum(p["verdict"] == p["repeat_verdict"] for p in both),
            "n": len(both),
        },
        "pairs": pairs,
    }


def sample_pairs(canary: dict[str, Any], k: int | None, seed: int) -> list[dict[str, Any]]:
    """All of a canary's pairs, or a seeded sample of `k` of them (in their pinned order)."""
    pairs = list(canary["pairs"])
    if k is None or k >= len(pairs):
        return pairs
    if k < 1:
        raise UserError("--canary-sample must be at least 1")
    keep = set(random.Random(seed).sample(range(len(pairs)), k))
    return [p for i, p in enumerate(pairs) if i in keep]


def check(
    canary: dict[str, Any],
    judge: Judge,
    sample: int | None = None,
    seed: int = 0,
    alpha: float = ALPHA,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Judge the canary's pairs again and test for drift; the record of the check."""
    if judge.store is not None:
        raise ValueError("a canary is judged without a results store (fresh replies only)")
    if judge.template.name != canary["template"]:
        raise UserError(
            f"the canary was pinned with template {canary['template']}; check it with the same "
            f"(--template {canary['template']}), not {judge.template.name}"
        )
    if judge.template.id != canary.get("template_id"):
        raise UserError(
            f"template {judge.template.name} changed since the canary was pinned "
            f"({judge.template.id}, pinned {canary.get('template_id')}): a check would measure "
            "the template's change, not the judge's; pin a new canary"
        )
    chosen = sample_pairs(canary, sample, seed)
    items = [PairItem(p["id"], p["prompt"], p["response_a"], p["response_b"]) for p in chosen]
    found = judge_pairwise(judge, items, on_done=on_done)
    rows = [
        {"id": p["id"], "pinned": p["verdict"], "repeat": p["repeat_verdict"], "now": r.verdict}
        for p, r in zip(chosen, found, strict=True)
    ]
    usable = [r for r in rows if None not in (r["pinned"], r["repeat"], r["now"])]
    result = drift_test(
        [r["repeat"] == r["pinned"] for r in usable],
        [r["now"] == r["pinned"] for r in usable],
        alpha,
    )
    pinned_as = _identities(canary.get("served", []))
    now_as = _identities(_served(judge))
    changed = bool(pinned_as and now_as and pinned_as != now_as)
    return {
        **result,
        "checked_at": _now(),
        "pinned_at": canary["pinned_at"],
        "judge": judge.describe(),
        "pinned_judge": canary["judge"],
        "served": _served(judge),
        "identity_changed": changed,
        "identity_note": (
            f"the endpoint now answers as {', '.join(sorted(now_as))}; at pinning it answered "
            f"as {', '.join(sorted(pinned_as))}"
            if changed
            else None
        ),
        "pairs_checked": len(rows),
        "without_verdict": len(rows) - len(usable),
        "usage": judge.usage(),
        "pairs": rows,
    }


def _identities(served: Sequence[dict[str, Any]]) -> set[str]:
    return {name for name, _ in served_identities(served)}
