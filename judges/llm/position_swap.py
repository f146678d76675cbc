"""Position-swap debiasing: each pair is judged in both orders (A first, then B first).

Each order's verdict is mapped back to the original labels; the pair is consistent when
both orders agree. An inconsistent pair becomes a tie (`inconsistent="tie"`, the default)
or is left without a verdict and flagged (`inconsistent="flag"`). `preference` is P(B beats
A) in [0, 1], averaged over the orders (a tie counts 0.5; log-prob templates give a
weighted value), the quantity AlpacaEval reports as `preference - 1`. Judged once, a pair's
order is drawn from a generator seeded by its content, so verdicts reproduce.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Literal

from harness.core.errors import UserError
from judges.llm.judge import Judge
from judges.llm.parsing import parse_pairwise, verdict_mass
from judges.llm.verdicts import Order, OrderResult, PairItem, PairResult, PairStatus, Verdict

Inconsistent = Literal["tie", "flag"]
"""What an inconsistent pair becomes: a tie, or no verdict (flagged)."""


def inconsistent_policy(value: str) -> Inconsistent:
    """`value` as the policy for inconsistent pairs, or a UserError naming the flag."""
    if value not in {"tie", "flag"}:
        raise UserError("--inconsistent must be 'tie' or 'flag'")
    return "tie" if value == "tie" else "flag"


_FLIP: dict[str, Verdict] = {"A": "B", "B": "A", "tie": "tie"}
_PREF = {"A": 0.0, "B": 1.0, "tie": 0.5}


def seeded_order(item: PairItem, seed: int = 0) -> Order:
    """A reproducible random order for one pair (AlpacaEval's content-seeded choice)."""
    digest = hashlib.sha256(f"{item.prompt}\0{item.response_a}\0{item.response_b}\0{seed}".encode())
    return "AB" if random.Random(digest.digest()).random() < 0.5 else "BA"


def orders(item: PairItem, *, swap: bool, seed: int) -> list[Order]:
    """Both orders, or one seeded by the pair's content when `swap` is off."""
    return ["AB", "BA"] if swap else [seeded_order(item, seed)]


def order_result(
    judge: Judge,
    order: Order,
    reply_text: str | None,
    logprobs: dict[str, float] | None,
    error: str | None,
) -> OrderResult:
    """One order's verdict in the original labels. A log-probability preference counts only
    when the verdict tokens carry at least `judge.min_verdict_mass` of the first token's
    probability; below it the reply's text decides, or the order is unparsed."""
    if error is not None or reply_text is None:
        return OrderResult(order, None, None, False, reply_text, error or "no reply")
    shown_b_pref: float | None = None
    mass: float | None = None
    if logprobs is not None and judge.template.config.logprobs:
        shown_b_pref, mass = verdict_mass(logprobs, judge.template.config.verdict_tokens)
        if mass < judge.min_verdict_mass:
            shown_b_pref = None
    weighted = shown_b_pref is not None
    shown = parse_pairwise(reply_text)
    if shown is None and shown_b_pref is None:  # `verdict_mass` says how little there was
        return OrderResult(order, None, None, False, reply_text, "unparsed verdict", mass)
    if shown is None:  # weighted only: the most probable slot is the verdict
        assert shown_b_pref is not None
        shown = "B" if shown_b_pref > 0.5 else "A" if shown_b_pref < 0.5 else "tie"
    if shown_b_pref is None:
        shown_b_pref = _PREF[shown]
    if order == "AB":
        return OrderResult(order, shown, shown_b_pref, weighted, reply_text, None, mass)
    return OrderResult(order, _FLIP[shown], 1.0 - shown_b_pref, weighted, reply_text, None, mass)


def combine(
    item_id: str, orders: Sequence[OrderResult], inconsistent: Inconsistent = "tie"
) -> PairResult:
    """Combine per-order results into one verdict.

    A pair is decided only when every order it was asked in has a verdict: a pair judged in
    one order only is not a verdict (for a position-biased judge it would be the first slot).
    A missing order makes the pair `failed` when a request got no reply (a re-run asks it
    again), else `incomplete` (one order unparsed) or `unparsed` (none parsed)."""
    decided = [o for o in orders if o.verdict is not None]
    if len(decided) < len(orders):
        if any(o.error and o.error != "unparsed verdict" for o in orders):
            status: PairStatus = "failed"
        else:
            status = "incomplete" if decided else "unparsed"
        return PairResult(item_id, tuple(orders), None, None, None, status)
    preference = sum(o.preference for o in decided if o.preference is not None) / len(decided)
    if len(decided) < 2:  # --no-swap: one order by request
        return PairResult(item_id, tuple(orders), None, decided[0].verdict, preference, "ok")
    consistent = len({o.verdict for o in decided}) == 1
    if consistent:
        return PairResult(item_id, tuple(orders), True, decided[0].verdict, preference, "ok")
    if inconsistent == "tie":
        return PairResult(item_id, tuple(orders), False, "tie", preference, "inconsistent")
    return PairResult(item_id, tuple(orders), False, None, preference, "inconsistent")


def first_slot_choices(pairs: Sequence[PairResult]) -> list[bool]:
    """For every order-level decisive verdict (A or B; ties and missing verdicts left out),
    whether it went to the response shown first. Its mean is `prefers_first_slot`, 0.5 for
    a judge without position bias; `harness judge` and the judge audit both use this."""
    return [
        (o.order == "AB") == (o.verdict == "A")
        for p in pairs
        for o in p.orders
        if o.verdict in ("A", "B")
    ]
