"""Position-swap debiasing, caching and failure handling with scripted judges."""

import math
import re
from pathlib import Path

import pytest

from harness.core.store import ResultsStore
from judges.llm.backends import OpenAIBackend, RetryPolicy
from judges.llm.judge import Judge
from judges.llm.pairwise import judge_pairwise
from judges.llm.position_swap import combine, seeded_order
from judges.llm.template import load_template
from judges.llm.verdicts import PairItem
from tests.support.fake_endpoint import FakeEndpoint
from tests.support.judge_prompts import answers

ITEMS = [
    PairItem("1", "2+2?", "4", "5 (wrong)"),
    PairItem("2", "Capital of France?", "Lyon (wrong)", "Paris"),
    PairItem("3", "Colour of grass?", "green", "also green"),
]


def fair_judge(messages: list[dict]) -> str:
    """Prefers the answer not marked wrong; tie when neither is."""
    a, b = answers(messages)
    if "wrong" in a and "wrong" not in b:
        return "B is right. [[B]]"
    if "wrong" in b and "wrong" not in a:
        return "A is right. [[A]]"
    return "Equal. [[C]]"


def first_slot_judge(messages: list[dict]) -> str:
    return "The first one. [[A]]"


def make_judge(
    endpoint: FakeEndpoint, store: ResultsStore | None = None, template: str = "pairwise-v1"
) -> Judge:
    backend = OpenAIBackend(
        "judge", base_url=endpoint.url, retry=RetryPolicy(max_retries=1, base_delay=0.01)
    )
    return Judge("openai:judge", load_template(template), backend, store)


def test_fair_judge_is_consistent_in_both_orders() -> None:
    with FakeEndpoint(reply=fair_judge) as ep:
        results = judge_pairwise(make_judge(ep), ITEMS)
        assert len(ep.requests) == 6
    assert [r.verdict for r in results] == ["A", "B", "tie"]
    assert all(r.consistent and r.status == "ok" for r in results)
    assert [tuple(o.order for o in r.orders) for r in results] == [("AB", "BA")] * 3
    assert [r.preference for r in results] == [0.0, 1.0, 0.5]


def test_position_biased_judge_is_caught() -> None:
    with FakeEndpoint(reply=first_slot_judge) as ep:
        tie = judge_pairwise(make_judge(ep), ITEMS)
        flag = judge_pairwise(make_judge(ep), ITEMS, inconsistent="flag")
    for r in tie:
        assert r.consistent is False and r.status == "inconsistent" and r.verdict == "tie"
        assert [o.verdict for o in r.orders] == ["A", "B"]  # each order's slot A, mapped back
        assert r.preference == 0.5
    assert all(r.verdict is None and r.status == "inconsistent" for r in flag)


def test_second_identical_run_makes_no_requests(tmp_path: Path) -> None:
    with FakeEndpoint(reply=fair_judge) as ep, ResultsStore(tmp_path / "s.sqlite") as store:
        first = judge_pairwise(make_judge(ep, store), ITEMS)
        judge = make_judge(ep, store)
        second = judge_pairwise(judge, ITEMS)
        assert len(ep.requests) == 6
    assert first == second
    assert judge.stats.requests == 0 and judge.stats.cached == 6


def test_failures_and_unparsed_are_recorded_not_guessed(tmp_path: Path) -> None:
    prompt_of = {it.id: it.prompt for it in ITEMS}
    script = {}  # type: ignore[var-annotated]
    with FakeEndpoint(reply=fair_judge, script=script) as ep:
        judge = make_judge(ep, ResultsStore(tmp_path / "s.sqlite"))
        # Item 1 fails in both orders; item 2 gets nonsense in both orders.
        for it in ITEMS[:2]:
            for rendered in (
                judge.request(prompt=it.prompt, response_a=it.response_a, response_b=it.response_b),
                judge.request(prompt=it.prompt, response_a=it.response_b, response_b=it.response_a),
            ):
                script[rendered.messages[-1].content] = (
                    ["500", "500"] if it.id == "1" else ["nonsense"]
                )
        results = judge_pairwise(judge, ITEMS)
    by = {r.id: r for r in results}
    assert by["1"].status == "failed" and by["1"].verdict is None
    assert all("InternalServerError" in (o.error or "") for o in by["1"].orders)
    assert by["2"].status == "unparsed" and by["2"].verdict is None
    assert all(o.raw == "I have no opinion on this." for o in by["2"].orders)
    assert by["3"].verdict == "tie" and prompt_of["3"]
    assert judge.stats.failed == 2


def test_logprob_weighting() -> None:
    def tops(messages: list[dict]) -> dict[str, float]:
        a, _ = answers_logprob(messages)
        p_first = 0.8 if a == "4" or a == "Paris" else 0.3
        return {"A": math.log(p_first), "B": math.log(1 - p_first), "The": math.log(0.001)}

    def answers_logprob(messages: list[dict]) -> tuple[str, str]:
        text = messages[-1]["content"]
        m = re.search(r"### Model A\n(.*?)\n\n### Model B\n(.*?)\n\n## Task", text, re.S)
        assert m
        return m.group(1), m.group(2)

    def reply(messages: list[dict]) -> str:
        t = tops(messages)
        return max(t, key=lambda k: t[k])

    with FakeEndpoint(reply=reply, top_logprobs=tops) as ep:
        results = judge_pairwise(make_judge(ep, template="pairwise-logprob-v1"), ITEMS[:2])
        assert all(r["logprobs"] is True and r["top_logprobs"] == 20 for r in ep.requests)
    one, two = results
    assert all(o.weighted for r in results for o in r.orders)
    # Item 1: AB shows "4" first -> P(B)=0.2; BA shows "5 (wrong)" first -> P(first)=0.3, P(orig B)=0.3.
    assert one.orders[0].preference == pytest.approx(0.2) and one.orders[
        1
    ].preference == pytest.approx(0.3)
    assert one.preference == pytest.approx(0.25) and one.verdict == "A" and one.consistent
    assert two.verdict == "B" and two.preference == pytest.approx((0.7 + 0.8) / 2)


def test_seeded_order_is_reproducible_and_balanced() -> None:
    items = [PairItem(str(i), f"q{i}", "a", "b") for i in range(400)]
    orders = [seeded_order(it) for it in items]
    assert orders == [seeded_order(it) for it in items]
    assert 160 < orders.count("AB") < 240
    assert orders != [seeded_order(it, seed=1) for it in items]


def test_a_pair_judged_in_one_order_only_is_not_a_verdict() -> None:
    from judges.llm.verdicts import OrderResult

    ok = OrderResult("AB", "B", 1.0, False, "[[B]]", None)
    bad = OrderResult("BA", None, None, False, None, "HTTP 500")
    unparsed = OrderResult("BA", None, None, False, "hmm", "unparsed verdict")
    r = combine("x", [ok, bad])
    assert (r.verdict, r.consistent, r.status, r.preference) == (None, None, "failed", None)
    r = combine("x", [ok, unparsed])
    assert (r.verdict, r.consistent, r.status, r.preference) == (None, None, "incomplete", None)
    r = combine("x", [unparsed, bad])
    assert (r.verdict, r.status) == (None, "failed")
    # --no-swap asks one order on purpose: that order's verdict is the pair's.
    assert combine("x", [ok]).verdict == "B" and combine("x", [ok]).status == "ok"


def test_prefers_first_slot_has_one_definition_in_judge_and_audit() -> None:
    """Ties and missing verdicts are left out, in `harness judge`'s summary and the audit."""
    from judges.audit.measures import AuditItem, LabelledPair, _position
    from judges.llm.files import summarise
    from judges.llm.position_swap import first_slot_choices
    from judges.llm.verdicts import OrderResult, PairResult

    def order(o: str, v: str | None) -> OrderResult:
        pref = {"A": 0.0, "B": 1.0, "tie": 0.5}.get(v or "")
        return OrderResult(o, v, pref, False, v, None if v else "unparsed")  # type: ignore[arg-type]

    shapes = [("A", "A"), ("A", "B"), ("tie", "B"), ("B", None), ("tie", "tie"), ("B", "A")]
    pairs = [
        PairResult(f"p{k}", (order("AB", a), order("BA", b)), None, None, None, "ok")
        for k, (a, b) in enumerate(shapes)
    ]
    # Shown first: A in order AB, B in order BA. The 8 decisive verdicts, by hand:
    # p0 A(first) A(second); p1 A(first) B(first); p2 B(first); p3 B(second);
    # p5 B(second) A(second) -> 4 of 8 went to the first slot.
    assert first_slot_choices(pairs) == [True, False, True, True, True, False, False, False]
    items = [AuditItem(LabelledPair(p.id, "q", "a", "b", "A"), p) for p in pairs]
    [audit] = [m for m in _position(items) if m and m["measure"] == "prefers_first_slot"]

    class _Judge:  # what summarise reads of a judge besides the results
        spec = "fake"
        template = type("T", (), {"id": "t", "config": type("C", (), {"labels": ()})()})()

        @staticmethod
        def describe() -> dict:
            return {}

        @staticmethod
        def spent() -> dict:
            return {}

    summary = summarise(pairs, _Judge())  # type: ignore[arg-type]
    [judged] = [m for m in summary["metrics"] if m["metric"] == "prefers_first_slot"]
    assert judged["value"] == audit["value"] == 4 / 8 and judged["n"] == audit["n"] == 8


def test_logprob_verdict_needs_mass_on_the_verdict_tokens() -> None:
    """A reply whose first token is "I'm" lists A and B far down: 3% of the probability is
    not a verdict, so the order is unparsed (with the mass recorded); 0 accepts it."""

    def tops(messages: list[dict]) -> dict[str, float]:
        return {"I'm": math.log(0.97), "A": math.log(0.02), "B": math.log(0.01)}

    with FakeEndpoint(reply=lambda messages: "I'm", top_logprobs=tops) as ep:
        judge = make_judge(ep, template="pairwise-logprob-v1")
        [strict] = judge_pairwise(judge, ITEMS[:1])
        judge.min_verdict_mass = 0.0
        [lenient] = judge_pairwise(judge, ITEMS[:1])
    assert strict.status == "unparsed" and strict.verdict is None
    assert all(o.error == "unparsed verdict" for o in strict.orders)
    assert all(o.verdict_mass == pytest.approx(0.03) for o in strict.orders)
    assert [o.verdict for o in lenient.orders] == ["A", "B"]  # the first slot, both times
    assert lenient.orders[0].preference == pytest.approx(1 / 3)
