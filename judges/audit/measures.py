"""Judge audit: measure a judge's agreement with humans and its biases before trusting it.

For human-labelled pairs (HH-RLHF chosen/rejected, or any JSONL with a `human` label),
each pair is shown with its responses in a content-seeded random order (so the human's
choice is not tied to a slot), judged in both orders, and then perturbed:

- human agreement: accuracy, Cohen's kappa, and accuracy on the confident subset (both
  orders agree);
- position bias: consistency under swap, P(prefer the first slot), flip rate;
- length bias: observational P(prefer the longer response), and interventional: the
  response the judge did *not* prefer is padded with content-free filler and re-judged;
  the share of verdicts that move to it;
- list/format bias: observational P(prefer the response with lists/markdown), and
  interventional: the non-preferred response is reformatted as a bulleted list;
- self-preference: the judge model answers the prompts itself, and its answer is judged
  against the human-preferred response (optionally also by a reference judge);
- bias and variance in the sense of AlpacaEval's evaluator leaderboard (against the human
  label; variance over repeated judging at a temperature);
- parse rate, price and time per 1,000 judgments, and separability (how many pairs the
  judge needs to tell the human-preferred responses from the others with 95% confidence).

Every measure carries a 95% CI and its n; `items` holds everything needed to recompute them.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from harness.stats.agreement import kappa_with_interval
from harness.stats.intervals import rate, wilson_interval
from judges.llm.position_swap import first_slot_choices
from judges.llm.verdicts import PairItem, PairResult
from judges.panel.panel import AnyJudge, judges_asked, pairwise
from judges.scorers.style import has_list

FILLER = (
    " I hope this helps! To summarise, the points above cover the question. It is always a "
    "good idea to consider every aspect of a question carefully and thoughtfully. Please let "
    "me know if there is anything else you would like to know, and I will be happy to help."
)


@dataclass(frozen=True)
class LabelledPair:
    """A prompt, two responses and which one the human preferred."""

    id: str
    prompt: str
    response_a: str
    response_b: str
    human: str
    """'A' or 'B' (or 'tie')."""


def from_chosen_rejected(
    item_id: str, prompt: str, chosen: str, rejected: str, seed: int = 0
) -> LabelledPair:
    """Place chosen/rejected in a content-seeded random order."""
    digest = hashlib.sha256(f"{prompt}\0{chosen}\0{rejected}\0{seed}".encode()).digest()
    if random.Random(digest).random() < 0.5:
        return LabelledPair(item_id, prompt, chosen, rejected, "A")
    return LabelledPair(item_id, prompt, rejected, chosen, "B")


def as_list(text: str) -> str:
    """The same sentences as a bulleted list (content unchanged)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    return "\n".join(f"- {s}" for s in sentences) if sentences else text


@dataclass
class AuditItem:
    """Everything measured on one pair."""

    pair: LabelledPair
    base: PairResult
    padded: PairResult | None = None
    padded_side: str | None = None
    listed: PairResult | None = None
    listed_side: str | None = None
    self_answer: str | None = None
    self_vs_human: PairResult | None = None
    reference_self_vs_human: PairResult | None = None
    repeats: list[str | None] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        from dataclasses import asdict

        def pr(r: PairResult | None) -> Any:
            return None if r is None else asdict(r)

        return {
            "id": self.pair.id,
            "prompt": self.pair.prompt,
            "response_a": self.pair.response_a,
            "response_b": self.pair.response_b,
            "human": self.pair.human,
            "len_a": len(self.pair.response_a),
            "len_b": len(self.pair.response_b),
            "list_a": has_list(self.pair.response_a),
            "list_b": has_list(self.pair.response_b),
            "base": pr(self.base),
            "padded_side": self.padded_side,
            "padded": pr(self.padded),
            "listed_side": self.listed_side,
            "listed": pr(self.listed),
            "self_answer": self.self_answer,
            "self_vs_human": pr(self.self_vs_human),
            "reference_self_vs_human": pr(self.reference_self_vs_human),
            "repeats": self.repeats,
        }


def _other(side: str) -> str:
    return "B" if side == "A" else "A"


def _perturbed(
    decisive: Sequence[AuditItem], transform: Callable[[str], str]
) -> list[tuple[AuditItem, str, PairItem]]:
    """Each decisive pair with its losing response transformed (item, losing side, new pair)."""
    out = []
    for it in decisive:
        loser = _other(str(it.base.verdict))
        a, b = it.pair.response_a, it.pair.response_b
        a, b = (transform(a), b) if loser == "A" else (a, transform(b))
        out.append((it, loser, PairItem(it.pair.id, it.pair.prompt, a, b)))
    return out


def _interventions(
    judge: AnyJudge, items: Sequence[AuditItem], on_done: Callable[[int], None] | None
) -> None:
    """Judge the pairs again with the loser padded with filler, and reformatted as a list."""
    decisive = [it for it in items if it.base.verdict in ("A", "B")]
    padded = _perturbed(decisive, lambda t: t + FILLER)
    for (it, side, _), r in zip(
        padded, pairwise(judge, [p for _, _, p in padded], on_done=on_done), strict=True
    ):
        it.padded, it.padded_side = r, side
    listed = [
        x
        for x in _perturbed(decisive, as_list)
        if x[2].response_a != x[0].pair.response_a or x[2].response_b != x[0].pair.response_b
    ]
    for (it, side, _), r in zip(
        listed, pairwise(judge, [p for _, _, p in listed], on_done=on_done), strict=True
    ):
        it.listed, it.listed_side = r, side


def _self_rounds(
    judge: AnyJudge,
    items: Sequence[AuditItem],
    self_answers: Sequence[str],
    reference: AnyJudge | None,
    on_done: Callable[[int], None] | None,
) -> None:
    """The judge model's own answers against the human-preferred response (and by `reference`)."""
    own = [
        PairItem(
            it.pair.id,
            it.pair.prompt,
            ans,
            it.pair.response_a if it.pair.human == "A" else it.pair.response_b,
        )
        for it, ans in zip(items, self_answers, strict=True)
        if it.pair.human in ("A", "B")
    ]
    humans = [it for it in items if it.pair.human in ("A", "B")]
    for it, ans, r in zip(
        humans,
        [p.response_a for p in own],
        pairwise(judge, own, on_done=on_done),
        strict=True,
    ):
        it.self_answer, it.self_vs_human = ans, r
    if reference is not None:
        for it, r in zip(humans, pairwise(reference, own), strict=True):
            it.reference_self_vs_human = r


def run_audit(
    judge: AnyJudge,
    pairs: Sequence[LabelledPair],
    *,
    self_answers: Sequence[str] | None = None,
    reference: AnyJudge | None = None,
    repeat_judges: Sequence[AnyJudge] = (),
    on_done: Callable[[int], None] | None = None,
) -> list[AuditItem]:
    """Judge the pairs, their perturbations, self-answers and repeats; returns per-item records."""
    as_pairs = [PairItem(p.id, p.prompt, p.response_a, p.response_b) for p in pairs]
    base = pairwise(judge, as_pairs, on_done=on_done)
    items = [AuditItem(p, r) for p, r in zip(pairs, base, strict=True)]
    _interventions(judge, items, on_done)
    if self_answers is not None:
        _self_rounds(judge, items, self_answers, reference, on_done)
    for repeat in repeat_judges:  # same presentation, a different sampling seed each time
        reps = pairwise(repeat, as_pairs, swap=False, on_done=on_done)
        for it, r in zip(items, reps, strict=True):
            it.repeats.append(r.verdict)
    return items


NOT_COMPUTED = {
    "human_agreement": "no pair has a human label A or B",
    "cohen_kappa": "no human-labelled pair got a verdict",
    "human_agreement_confident": "no human-labelled pair got the same verdict in both orders",
    "position_consistency": "no pair got a verdict in both orders",
    "prefers_first_slot": "no order-level reply gave a decisive verdict",
    "flip_rate": "no pair got a decisive verdict in both orders",
    "prefers_longer": "no pair of responses of different lengths got a decisive verdict",
    "length_intervention_flip": (
        "padding is tried only where the judge's combined verdict was A or B, and no padded "
        "pair got a verdict"
    ),
    "prefers_lists": (
        "no pair where exactly one response has lists or markdown got a decisive verdict"
    ),
    "format_intervention_flip": (
        "reformatting is tried only where the judge's combined verdict was A or B and the "
        "loser has sentences to list, and no reformatted pair got a verdict"
    ),
    "self_preference": "the judge model did not answer the prompts (--no-self-preference)",
    "reference_prefers_judge_answer": "no reference judge was given (--reference-judge)",
    "bias": "no repeated judgments of human-labelled pairs (--repeats)",
    "variance": "no repeated judgments of human-labelled pairs (--repeats)",
    "parse_rate": "no judgment was made",
}
"""Why a measure is missing from an audit, said in its place ("not computed: ...")."""


def _not_computed(name: str) -> dict[str, Any]:
    return {
        "measure": name,
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "n": 0,
        "note": f"not computed: {NOT_COMPUTED[name]}",
    }


def _rate(name: str, outcomes: Sequence[bool], note: str) -> dict[str, Any]:
    m = rate(list(outcomes), suite="", metric=name)
    if m is None:
        return _not_computed(name)
    return {
        "measure": name,
        "value": m.value,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "n": m.n,
        "note": note,
    }


def _agreement(items: Sequence[AuditItem]) -> list[dict[str, Any] | None]:
    """Agreement with the human labels: raw, Cohen's kappa, on consistent pairs."""
    out: list[dict[str, Any] | None] = []
    human = [it for it in items if it.pair.human in ("A", "B")]
    out.append(
        _rate(
            "human_agreement",
            [it.base.verdict == it.pair.human for it in human],
            "judge's combined verdict equals the human label (ties and no verdict count as disagreement)",
        )
    )
    labelled = [it for it in human if it.base.verdict is not None]
    if labelled:
        j = [str(it.base.verdict) for it in labelled]
        h = [it.pair.human for it in labelled]
        out.append(kappa_with_interval(j, h))
    out.append(
        _rate(
            "human_agreement_confident",
            [it.base.verdict == it.pair.human for it in human if it.base.consistent],
            "on pairs where both orders gave the same verdict",
        )
    )
    return out


def _position(items: Sequence[AuditItem]) -> list[dict[str, Any] | None]:
    """Position bias: consistency across orders, first-slot preference, flips."""
    out: list[dict[str, Any] | None] = []
    both = [it for it in items if it.base.consistent is not None]
    out.append(
        _rate(
            "position_consistency",
            [bool(it.base.consistent) for it in both],
            "both orders give the same verdict",
        )
    )
    out.append(
        _rate(
            "prefers_first_slot",
            first_slot_choices([it.base for it in items]),
            "share of decisive order-level verdicts for whichever response was shown first",
        )
    )
    strict = [it for it in both if {o.verdict for o in it.base.orders} <= {"A", "B"}]
    out.append(
        _rate(
            "flip_rate",
            [not it.base.consistent for it in strict],
            "swapping the order flips the winner (pairs with a decisive verdict in both orders)",
        )
    )

    return out


def _length_and_format(items: Sequence[AuditItem]) -> list[dict[str, Any] | None]:
    """Length and list/markdown preferences, observed and by intervention."""
    out: list[dict[str, Any] | None] = []

    # Observational length and format preferences are per order-level verdict (as
    # AlpacaEval's evaluator leaderboard counts them), so each presentation counts once.
    def order_level(it: AuditItem) -> list[str]:
        return [str(o.verdict) for o in it.base.orders if o.verdict in ("A", "B")]

    def longer(it: AuditItem) -> str:
        return "A" if len(it.pair.response_a) > len(it.pair.response_b) else "B"

    uneven = [it for it in items if len(it.pair.response_a) != len(it.pair.response_b)]
    out.append(
        _rate(
            "prefers_longer",
            [v == longer(it) for it in uneven for v in order_level(it)],
            "observational: order-level verdicts for the longer response, on pairs of different length",
        )
    )
    padded = [it for it in items if it.padded is not None and it.padded.verdict is not None]
    out.append(
        _rate(
            "length_intervention_flip",
            [it.padded.verdict == it.padded_side for it in padded if it.padded],
            "the non-preferred response padded with content-free filler now wins",
        )
    )
    one_list = [it for it in items if has_list(it.pair.response_a) != has_list(it.pair.response_b)]
    out.append(
        _rate(
            "prefers_lists",
            [
                v == ("A" if has_list(it.pair.response_a) else "B")
                for it in one_list
                for v in order_level(it)
            ],
            "observational: order-level verdicts for the response with lists/markdown, where exactly one has them",
        )
    )
    listed = [it for it in items if it.listed is not None and it.listed.verdict is not None]
    out.append(
        _rate(
            "format_intervention_flip",
            [it.listed.verdict == it.listed_side for it in listed if it.listed],
            "the non-preferred response reformatted as a bulleted list now wins",
        )
    )
    return out


def _self_preference(items: Sequence[AuditItem]) -> list[dict[str, Any] | None]:
    """Preference for the judge model's own answers (and a reference judge's view)."""
    out: list[dict[str, Any] | None] = []
    own = [
        it for it in items if it.self_vs_human is not None and it.self_vs_human.verdict is not None
    ]
    out.append(
        _rate(
            "self_preference",
            [it.self_vs_human.verdict == "A" for it in own if it.self_vs_human],
            "judge prefers its own model's answer over the human-preferred response",
        )
    )
    ref = [
        it
        for it in items
        if it.reference_self_vs_human is not None and it.reference_self_vs_human.verdict is not None
    ]
    out.append(
        _rate(
            "reference_prefers_judge_answer",
            [it.reference_self_vs_human.verdict == "A" for it in ref if it.reference_self_vs_human],
            "reference judge prefers the judge model's answer (compare with self_preference)",
        )
    )
    return out


def _repeats(items: Sequence[AuditItem]) -> list[dict[str, Any] | None]:
    """AlpacaEval-style bias and variance over repeated judgments."""
    out: list[dict[str, Any] | None] = []
    human = [it for it in items if it.pair.human in ("A", "B")]
    with_repeats = [it for it in human if it.repeats]
    if with_repeats:
        modes = []
        agreement: list[bool] = []
        for it in with_repeats:
            votes = [v for v in it.repeats if v is not None]
            mode = max(set(votes), key=votes.count) if votes else None
            modes.append(mode == it.pair.human)
            agreement.extend(v == mode for v in it.repeats)
        out.append(
            _rate(
                "bias",
                [not m for m in modes],
                "the judge's most frequent verdict over repeats differs from the human label",
            )
        )
        out.append(
            _rate(
                "variance",
                [not a for a in agreement],
                "a single repeated verdict differs from the judge's most frequent one",
            )
        )
    return out


def _parse_and_cost(items: Sequence[AuditItem], judge: AnyJudge) -> list[dict[str, Any] | None]:
    """Parse rate, and price and latency per 1,000 judgments."""
    out: list[dict[str, Any] | None] = []
    orders = [o for it in items for o in it.base.orders]
    out.append(
        _rate(
            "parse_rate",
            [o.verdict is not None for o in orders],
            "order-level replies with a verdict",
        )
    )
    stats = judge.stats
    # A panel's judgment is one reply from each member: priced and timed as all of them.
    size = judges_asked(judge)
    what = f"panel judgments ({size} member replies each)" if size > 1 else "judgments"
    if stats.answered:
        per = 1000 * size / stats.answered
        out.append(
            {
                "measure": "price_per_1000",
                "value": stats.answered_cost * per,
                "ci_low": None,
                "ci_high": None,
                "n": stats.answered,
                "note": f"dollars per 1,000 {what} at their token counts (given prices)",
            }
        )
        out.append(
            {
                "measure": "seconds_per_1000",
                "value": stats.answered_seconds * per,
                "ci_low": None,
                "ci_high": None,
                "n": stats.answered,
                "note": f"seconds of judge latency per 1,000 {what} (before concurrency)",
            }
        )
    return out


def measures(items: Sequence[AuditItem], judge: AnyJudge) -> list[dict[str, Any]]:
    """Every audit measure with its 95% CI and n (see the module docstring)."""
    out: list[dict[str, Any] | None] = [
        *_agreement(items),
        *_position(items),
        *_length_and_format(items),
        *_self_preference(items),
        *_repeats(items),
        *_parse_and_cost(items, judge),
    ]
    human = [it for it in items if it.pair.human in ("A", "B")]
    sep = separability(human)
    if sep is not None:
        out.append(sep)
    found = [m for m in out if m is not None]
    given = {m["measure"] for m in found}
    return found + [_not_computed(name) for name in NOT_COMPUTED if name not in given]


def separability(items: Sequence[AuditItem]) -> dict[str, Any] | None:
    """Pairs needed for the judge to show (95% confidence, 80% power) that human-preferred
    responses beat the others, at the judge's observed preference for them.

    Where every preference is the same (a judge that always agreed), the sample shows no
    spread, and planning from a spread of 0 says one pair is enough however few were seen.
    The plan then takes the least favourable mean Wilson's interval allows, at the largest
    spread [0, 1] preferences with that mean can have; too few pairs leave no plan."""
    prefs = [
        it.base.preference if it.pair.human == "B" else 1 - it.base.preference
        for it in items
        if it.base.preference is not None
    ]
    if len(prefs) < 2:
        return None
    n, p = len(prefs), float(np.mean(prefs))
    sd = float(np.std(prefs, ddof=1))
    seen = "judge's mean preference for the human-preferred response"
    note = f"{seen}: {p:.3f} ± {1.96 * sd / np.sqrt(n):.3f}"
    no_plan = {"measure": "separability_n", "value": None, "ci_low": None, "ci_high": None, "n": n}
    if p <= 0.5:
        why = "never: the judge does not prefer the human-preferred responses"
        return {**no_plan, "note": f"{why} ({note})"}
    if sd == 0:
        p = wilson_interval(p * n, n)[0]
        sd = float(np.sqrt(p * (1 - p)))
        note = f"{seen}: {np.mean(prefs):.3f} on all {n} pairs; planned at {p:.3f}"
        note += " (Wilson's lower bound)"
        if p <= 0.5:
            return {**no_plan, "note": f"too few pairs to plan from ({note})"}
    need = float(np.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) * sd / (p - 0.5)) ** 2))
    return {**no_plan, "value": need, "note": f"pairs needed (95% confidence, 80% power); {note}"}
