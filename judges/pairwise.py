"""Pairwise judging with position-swap debiasing.

By default each pair is judged in both orders (A first, then B first). Each order's verdict
is mapped back to the original labels; the pair is consistent when both orders agree. An
inconsistent pair becomes a tie (`inconsistent="tie"`, the default) or is left without a
verdict and flagged (`inconsistent="flag"`). `preference` is P(B beats A) in [0, 1],
averaged over the orders (a tie counts 0.5; log-prob templates give a weighted value), the
quantity AlpacaEval reports as `preference - 1`. With `swap=False` each pair is judged once,
in an order drawn from a generator seeded by the pair's content, so verdicts reproduce.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from judges.judge import Judge
from judges.parsing import PairVerdict, parse_pairwise, weighted_preference

Order = Literal["AB", "BA"]
Verdict = PairVerdict
_FLIP: dict[str, Verdict] = {"A": "B", "B": "A", "tie": "tie"}
_PREF = {"A": 0.0, "B": 1.0, "tie": 0.5}


@dataclass(frozen=True)
class PairItem:
    """Two responses to one prompt."""

    id: str
    prompt: str
    response_a: str
    response_b: str
    reference: str | None = None
    principle: str | None = None
    """What the judge weighs the answers by, for templates with `{principle}` (CAI feedback)."""
    persona: str | None = None
    """The user profile the judge judges for, for templates with `{persona}`."""


@dataclass(frozen=True)
class OrderResult:
    """The verdict of one presentation order, in the original labels."""

    order: Order
    """'AB': response_a shown first; 'BA': response_b shown first."""
    verdict: Verdict | None
    """Winner in the original labels; None when unparsed or failed."""
    preference: float | None
    """P(original B wins) from this order (weighted when log-probs were given)."""
    weighted: bool
    """Whether `preference` came from log-probabilities."""
    raw: str | None
    """The judge's reply, kept for audit."""
    error: str | None
    """Why there is no verdict: the request failed, or the reply could not be parsed."""


@dataclass(frozen=True)
class PairResult:
    """Both orders and their combination."""

    id: str
    orders: tuple[OrderResult, ...]
    consistent: bool | None
    """Both orders parsed and agreed (None when fewer than two orders have a verdict)."""
    verdict: Verdict | None
    """Combined verdict; None when no order has one or an inconsistent pair is flagged."""
    preference: float | None
    """Mean P(B wins) over the orders with a verdict."""
    status: Literal["ok", "inconsistent", "unparsed", "failed"]


def seeded_order(item: PairItem, seed: int = 0) -> Order:
    """A reproducible random order for one pair (AlpacaEval's content-seeded choice)."""
    digest = hashlib.sha256(f"{item.prompt}\0{item.response_a}\0{item.response_b}\0{seed}".encode())
    return "AB" if random.Random(digest.digest()).random() < 0.5 else "BA"


def _order_result(
    judge: Judge,
    order: Order,
    reply_text: str | None,
    logprobs: dict[str, float] | None,
    error: str | None,
) -> OrderResult:
    if error is not None or reply_text is None:
        return OrderResult(order, None, None, False, reply_text, error or "no reply")
    shown_b_pref: float | None = None
    weighted = False
    if logprobs is not None and judge.template.config.logprobs:
        shown_b_pref = weighted_preference(logprobs, judge.template.config.verdict_tokens)
        weighted = shown_b_pref is not None
    shown = parse_pairwise(reply_text)
    if shown is None and shown_b_pref is None:
        return OrderResult(order, None, None, False, reply_text, "unparsed verdict")
    if shown is None:  # weighted only: the most probable slot is the verdict
        assert shown_b_pref is not None
        shown = "B" if shown_b_pref > 0.5 else "A" if shown_b_pref < 0.5 else "tie"
    if shown_b_pref is None:
        shown_b_pref = _PREF[shown]
    if order == "AB":
        return OrderResult(order, shown, shown_b_pref, weighted, reply_text, None)
    return OrderResult(order, _FLIP[shown], 1.0 - shown_b_pref, weighted, reply_text, None)


def combine(
    item_id: str, orders: Sequence[OrderResult], inconsistent: Literal["tie", "flag"] = "tie"
) -> PairResult:
    """Combine per-order results into one verdict."""
    decided = [o for o in orders if o.verdict is not None]
    if not decided:
        failed = all(o.error and o.error != "unparsed verdict" for o in orders)
        return PairResult(
            item_id, tuple(orders), None, None, None, "failed" if failed else "unparsed"
        )
    preference = sum(o.preference for o in decided if o.preference is not None) / len(decided)
    if len(decided) < 2:
        return PairResult(item_id, tuple(orders), None, decided[0].verdict, preference, "ok")
    consistent = len({o.verdict for o in decided}) == 1
    if consistent:
        return PairResult(item_id, tuple(orders), True, decided[0].verdict, preference, "ok")
    if inconsistent == "tie":
        return PairResult(item_id, tuple(orders), False, "tie", preference, "inconsistent")
    return PairResult(item_id, tuple(orders), False, None, preference, "inconsistent")


def judge_pairwise(
    judge: Judge,
    items: Sequence[PairItem],
    *,
    swap: bool = True,
    inconsistent: Literal["tie", "flag"] = "tie",
    seed: int = 0,
    on_done: Callable[[int], None] | None = None,
) -> list[PairResult]:
    """Judge every pair (both orders unless `swap=False`)."""
    plan: list[tuple[int, Order]] = []
    for i, item in enumerate(items):
        orders: list[Order] = ["AB", "BA"] if swap else [seeded_order(item, seed)]
        plan.extend((i, o) for o in orders)
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
        per_item[i].append(_order_result(judge, order, reply.text, reply.top_logprobs, reply.error))
    return [combine(it.id, res, inconsistent) for it, res in zip(items, per_item, strict=True)]
