"""Records of pairwise judging: a pair of answers, the verdict of one presentation order, and
the verdict of both orders combined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from judges.llm.parsing import PairVerdict

Order = Literal["AB", "BA"]
Verdict = PairVerdict


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
    verdict_mass: float | None = None
    """With log-probabilities: P(A) + P(B) of the first reply token, what a weighted
    preference rests on."""
    served: dict[str, str] | None = None
    """What the endpoint said answered this order (its reply's model and fingerprint)."""


PairStatus = Literal["ok", "inconsistent", "incomplete", "unparsed", "failed"]
"""`incomplete`: one order has a verdict and the other none, so the pair has no verdict."""


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
    status: PairStatus
    members: tuple[PairResult, ...] = ()
    """A panel's verdict: every member's own result on the pair (judges/panel/)."""
