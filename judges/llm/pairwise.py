"""Pairwise judging: which of two answers to one prompt is better, asked of a judge in both
presentation orders (see judges/llm/position_swap.py) unless `swap=False`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from judges.llm.judge import Judge
from judges.llm.position_swap import Inconsistent, combine, order_result, orders
from judges.llm.verdicts import Order, OrderResult, PairItem, PairResult


def judge_pairwise(
    judge: Judge,
    items: Sequence[PairItem],
    *,
    swap: bool = True,
    inconsistent: Inconsistent = "tie",
    seed: int = 0,
    on_done: Callable[[int], None] | None = None,
) -> list[PairResult]:
    """Judge every pair (both orders unless `swap=False`)."""
    plan: list[tuple[int, Order]] = []
    for i, item in enumerate(items):
        plan.extend((i, o) for o in orders(item, swap=swap, seed=seed))
    requests = []
    for i, order in plan:
        it = items[i]
        first, second = (
            (it.response_a, it.response_b) if order == "AB" else (it.response_b, it.response_a)
        )
        requests.append(
            judge.request(
                prompt=it.prompt,
                response_a=first,
                response_b=second,
                reference=it.reference,
                principle=it.principle,
                persona=it.persona,
            )
        )
    replies = judge.ask(requests, on_done)
    per_item: list[list[OrderResult]] = [[] for _ in items]
    for (i, order), reply in zip(plan, replies, strict=True):
        found = order_result(judge, order, reply.text, reply.top_logprobs, reply.error)
        per_item[i].append(replace(found, served=reply.served))
    return [combine(it.id, res, inconsistent) for it, res in zip(items, per_item, strict=True)]
