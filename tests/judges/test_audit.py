"""Each audit measure recovers a bias planted in a scripted judge, within its CI."""

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.stats.agreement import cohen_kappa
from judges.audit.measures import (
    LabelledPair,
    as_list,
    from_chosen_rejected,
    measures,
    run_audit,
)
from judges.llm.backends import OpenAIBackend, RetryPolicy
from judges.llm.judge import Judge
from judges.llm.template import load_template
from judges.scorers.style import has_list
from tests.support.browser import browse, check_inert
from tests.support.fake_endpoint import FakeEndpoint
from tests.support.judge_prompts import answers


def draw(messages: list[dict], salt: str = "") -> float:
    digest = hashlib.sha256((json.dumps(messages) + salt).encode()).digest()
    return random.Random(digest).random()


def always_first(messages: list[dict]) -> str:
    return "[[A]]"


def prefers_longer_80(messages: list[dict]) -> str:
    a, b = answers(messages)
    longer = "A" if len(a) > len(b) else "B"
    return f"[[{longer if draw(messages) < 0.8 else ('B' if longer == 'A' else 'A')}]]"


def knows_correct(messages: list[dict]) -> str:
    a, b = answers(messages)
    return "[[A]]" if "CORRECT" in a else "[[B]]" if "CORRECT" in b else "[[C]]"


def make_pairs(n: int) -> list[LabelledPair]:
    rng = random.Random(5)
    pairs = []
    for i in range(n):
        good = f"CORRECT answer {i}." + " Detail." * rng.randint(0, 6)
        bad = f"Wrong answer {i}." + " Detail." * rng.randint(0, 6)
        pairs.append(from_chosen_rejected(str(i), f"Question {i}?", good, bad))
    return pairs


def audit(reply, pairs, tmp_path: Path | None = None, **kw):
    with FakeEndpoint(reply=reply) as ep:
        judge = Judge(
            "openai:j",
            load_template("pairwise-v1"),
            OpenAIBackend("j", base_url=ep.url, retry=RetryPolicy(max_retries=0)),
        )
        items = run_audit(judge, pairs, **kw)
        return {m["measure"]: m for m in measures(items, judge)}, items


def within(m: dict, planted: float) -> bool:
    return m["ci_low"] <= planted <= m["ci_high"]


def test_always_first_slot_judge() -> None:
    m, _ = audit(always_first, make_pairs(60))
    assert m["prefers_first_slot"]["value"] == 1.0 and m["prefers_first_slot"]["n"] == 120
    assert m["position_consistency"]["value"] == 0.0 and m["flip_rate"]["value"] == 1.0
    assert m["human_agreement"]["value"] == 0.0  # every pair ends a tie
    assert m["parse_rate"]["value"] == 1.0


def test_prefers_longer_with_probability_0_8() -> None:
    m, _ = audit(prefers_longer_80, make_pairs(150))
    assert within(m["prefers_longer"], 0.8) and m["prefers_longer"]["n"] >= 250
    assert within(m["prefers_first_slot"], 0.5)
    assert m["length_intervention_flip"]["ci_low"] > 0.3  # padding the loser makes it win


def test_fair_judge_agrees_with_humans_and_ignores_padding() -> None:
    pairs = make_pairs(80)
    m, _ = audit(knows_correct, pairs)
    assert m["human_agreement"]["value"] == 1.0 and m["cohen_kappa"]["value"] == pytest.approx(1.0)
    from reports.audit import warnings

    assert warnings({k: v for k, v in m.items()}) == []  # nothing to warn about a fair judge
    assert m["position_consistency"]["value"] == 1.0 and within(m["prefers_first_slot"], 0.5)
    assert (
        m["length_intervention_flip"]["value"] == 0.0
        and m["format_intervention_flip"]["value"] == 0.0
    )
    assert m["separability_n"]["value"] is not None and m["separability_n"]["value"] <= 5


@pytest.mark.parametrize("n_pairs", [3, 10, 80])
def test_separability_of_a_judge_that_always_agreed_is_planned_from_wilsons_bound(
    n_pairs: int,
) -> None:
    """Every preference is 1: the sample has no spread, which would plan one pair however
    few were seen. The plan takes Wilson's lower bound p of the mean at the Bernoulli spread
    sqrt(p (1 - p)), computed here with scipy's Wilson interval."""
    from scipy.stats import binomtest, norm

    m, _ = audit(knows_correct, make_pairs(n_pairs))
    sep = m["separability_n"]
    n = n_pairs  # one preference a pair, from its two orders
    assert sep["n"] == n and "on all" in sep["note"] and "± 0.000" not in sep["note"]
    low = binomtest(n, n).proportion_ci(method="wilson").low
    if low <= 0.5:
        assert sep["value"] is None and "too few pairs" in sep["note"]
    else:
        z = norm.ppf(0.975) + norm.ppf(0.8)
        assert sep["value"] == np.ceil((z * np.sqrt(low * (1 - low)) / (low - 0.5)) ** 2) > 1


def test_self_preference_and_repeats() -> None:
    pairs = make_pairs(40)

    def loves_self(messages: list[dict]) -> str:
        a, b = answers(messages)
        return (
            "[[A]]"
            if a.startswith("SELF")
            else "[[B]]"
            if b.startswith("SELF")
            else knows_correct(messages)
        )

    with FakeEndpoint(reply=loves_self) as ep:

        def judge(seed=None, temperature=None):
            return Judge(
                "openai:j",
                load_template("pairwise-v1"),
                OpenAIBackend("j", base_url=ep.url, retry=RetryPolicy(max_retries=0)),
                temperature=temperature,
                seed=seed,
            )

        main = judge()
        items = run_audit(
            main,
            pairs,
            self_answers=[f"SELF answer {p.id}" for p in pairs],
            repeat_judges=[judge(1, 1.0), judge(2, 1.0)],
        )
        m = {x["measure"]: x for x in measures(items, main)}
    assert m["self_preference"]["value"] == 1.0 and m["self_preference"]["n"] == 40
    assert m["variance"]["value"] == 0.0 and m["bias"]["value"] == 0.0  # deterministic and right


def test_noisy_repeats_show_variance() -> None:
    pairs = make_pairs(40)

    def noisy(messages: list[dict]) -> str:
        return knows_correct(messages) if draw(messages, "x") < 0.7 else "[[A]]"

    calls: list[int] = []

    def seeded(messages: list[dict]) -> str:
        calls.append(1)
        return noisy([*messages, {"n": len(calls)}])  # a fresh draw per request, like sampling

    with FakeEndpoint(reply=seeded) as ep:

        def make(seed: int | None) -> Judge:
            backend = OpenAIBackend("j", base_url=ep.url, retry=RetryPolicy(max_retries=0))
            return Judge(
                "openai:j", load_template("pairwise-v1"), backend, temperature=1.0, seed=seed
            )

        main = make(None)
        items = run_audit(main, pairs, repeat_judges=[make(1), make(2), make(3)])
        m = {x["measure"]: x for x in measures(items, main)}
    assert m["variance"]["value"] > 0.05 and m["variance"]["n"] == 120


def test_helpers() -> None:
    assert (
        has_list("Steps:\n- one\n- two")
        and has_list("## Title\ntext")
        and not has_list("Plain text.")
    )
    assert as_list("One. Two! Three?") == "- One.\n- Two!\n- Three?"
    assert cohen_kappa(["A", "B", "A", "B"], ["A", "B", "A", "B"]) == 1.0
    # Against a hand-computed example: po = 0.6, pe = 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa 0.2
    assert cohen_kappa(
        ["A", "A", "B", "B", "A", "B", "A", "B", "A", "B"],
        ["A", "B", "B", "B", "A", "A", "A", "B", "B", "A"],
    ) == pytest.approx(0.2)
    left = sum(from_chosen_rejected(str(i), f"q{i}", "c", "r").human == "A" for i in range(400))
    assert 160 < left < 240


# Over 60 lines: an end-to-end scenario read top to bottom (start, interrupt or serve,
# resume or re-run, check); most of its length is the command line it runs.
def test_audit_cli_on_hh_rlhf(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "audit"
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    with FakeEndpoint(reply=always_first) as ep:
        result = CliRunner().invoke(
            app,
            [
                "audit-judge",
                "--judge",
                "openai:j",
                "--compare",
                "openai:k",
                "--judge-base-url",
                ep.url,
                "--pairs",
                source,
                "--limit",
                "20",
                "--repeats",
                "1",
                "--self-max-new-tokens",
                "40",
                "--judge-max-tokens",
                "300",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        # Caps: the self-preference answers at 40 tokens, the judgments at 300 (of 512).
        assert {r["max_tokens"] for r in ep.requests} == {40, 300}
    payload = json.loads((out / "audit.json").read_text())
    assert payload["judges"][0]["usage"]["client"]["max_tokens"] == 300
    assert [r["judge"]["spec"] for r in payload["judges"]] == ["openai:j", "openai:k"]
    for r in payload["judges"]:
        ms = r["measures"]
        for name in (
            "human_agreement",
            "cohen_kappa",
            "position_consistency",
            "prefers_first_slot",
            "prefers_longer",
            "self_preference",
            "bias",
            "variance",
            "parse_rate",
            "price_per_1000",
            "seconds_per_1000",
            "separability_n",
        ):
            assert name in ms and set(ms[name]) >= {"value", "ci_low", "ci_high", "n"}, name
        assert ms["prefers_first_slot"]["value"] == 1.0
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 40 and {i["human"] for i in items} == {"A", "B"}
    # Every number can be recomputed from items.jsonl:
    first = [
        (o["order"] == "AB") == (o["verdict"] == "A")
        for i in items
        if i["judge"] == "openai:j"
        for o in i["base"]["orders"]
        if o["verdict"] in ("A", "B")
    ]
    assert (
        sum(first) / len(first) == payload["judges"][0]["measures"]["prefers_first_slot"]["value"]
    )
    html = (out / "report.html").read_text()
    assert "Strong position bias" in html and 'id="side-by-side"' in html
    # An always-first judge's combined verdict is always a tie: kappa 0 in every resample,
    # stated without the [0, 0] interval, and still called no better than chance.
    kappa = payload["judges"][0]["measures"]["cohen_kappa"]
    assert kappa["value"] == 0.0 and kappa["ci_low"] is None and kappa["one_label"] == "tie"
    assert "the judge gave one verdict (tie) to all 20 pairs, so Cohen" in html
    # In a browser: each measure against its own ideal (green diamonds), and a reason for
    # every measure that was not computed.
    dom = browse(html, tmp_path, "audit-report")
    check_inert(dom, "alignment-harness judge audit")
    assert dom.count('class="ideal"') >= 2 * 8 and "green diamond marks its own ideal" in dom
    assert "not computed: no reference judge was given (--reference-judge)" in dom


def test_audit_with_personas(tmp_path: Path, shared_data: Path) -> None:
    from tests.judges.test_personas import persona_judge

    out = tmp_path / "audit"
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    with FakeEndpoint(reply=persona_judge) as ep:
        result = CliRunner().invoke(
            app,
            ["audit-judge", "--judge", "openai:j", "--judge-base-url", ep.url, "--pairs", source,
             "--limit", "20", "--repeats", "0", "--no-self-preference", "--personas", "default",
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    personas = json.loads((out / "audit.json").read_text())["judges"][0]["personas"]
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]

    def side(sign: int) -> list[str | None]:  # equal lengths: the two orders disagree, a tie
        d = [sign * (i["len_a"] - i["len_b"]) for i in items]
        return ["A" if x < 0 else "B" if x > 0 else None for x in d]

    def agreement(verdicts: list[str | None]) -> float:
        return sum(v == i["human"] for v, i in zip(verdicts, items, strict=True)) / len(items)

    assert personas["human_agreement"]["concise"]["value"] == pytest.approx(agreement(side(1)))
    assert personas["human_agreement"]["thorough"]["value"] == pytest.approx(agreement(side(-1)))
    assert personas["human_agreement"]["novice"]["value"] == 0.0  # ties never match a human
    unequal = sum(i["len_a"] != i["len_b"] for i in items)
    assert personas["flip_rate"]["value"] == unequal / 20 and personas["flip_rate"]["n"] == 20
    assert "how far verdicts move across user profiles" in (out / "report.html").read_text()


@pytest.mark.model
@pytest.mark.slow
def test_audit_local_smollm2_end_to_end(
    tmp_path: Path, shared_data: Path, smollm2_dir: Path
) -> None:
    """The embedded judge's A/B tokens carry a few percent of the probability: by default
    none of its log-probability "verdicts" counts, and the audit says so; accepting any
    mass (the same judgments, from the store) exercises every measure."""
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    args = [
        *("audit-judge", "--judge", "local:smollm2", "--template", "pairwise-logprob-v1"),
        *("--pairs", source, "--limit", "4", "--repeats", "1", "--self-max-new-tokens", "24"),
    ]
    strict = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "strict")])
    assert strict.exit_code == 0, strict.output
    [r] = json.loads((tmp_path / "strict" / "audit.json").read_text())["judges"]
    assert r["measures"]["parse_rate"]["value"] == 0.0 and r["measures"]["parse_rate"]["n"] == 8
    assert (tmp_path / "strict" / "report.html").exists()
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, [*args, "--min-verdict-mass", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [r] = json.loads((out / "audit.json").read_text())["judges"]
    ms = r["measures"]
    assert ms["parse_rate"]["n"] == 8 and ms["human_agreement"]["n"] == 4
    assert ms["self_preference"]["n"] >= 1 and "variance" in ms
    assert (out / "report.html").exists()


def test_alpaca_eval_style_human_annotations(tmp_path: Path) -> None:
    from judges.audit.pairs import load_pairs

    rows = [
        {"instruction": "q1", "output_1": "a", "output_2": "b", "preference": p}
        for p in (2, 2, 1, 2)
    ]
    rows += [
        {"instruction": "q2", "output_1": "c", "output_2": "d", "preference": p} for p in (1, 2)
    ]
    path = tmp_path / "human.json"
    path.write_text(json.dumps(rows))
    pairs = load_pairs(str(path))
    assert [(p.prompt, p.human) for p in pairs] == [("q1", "B"), ("q2", "tie")]
    path.write_text(
        json.dumps([{"instruction": "q", "output_1": "a", "output_2": "b", "preference": 7}])
    )
    from harness.core.errors import InputError

    with pytest.raises(InputError) as info:
        load_pairs(str(path))
    assert (info.value.line, info.value.field) == (1, "preference")


def test_kappa_is_undefined_not_zero_and_small_audits_state_no_finding() -> None:
    """One label throughout is 0/0: kappa undefined (it was reported as 0.00 [0.00, 0.00]
    and read as "no better than chance"). Under FEW pairs no interval and no finding; with
    enough pairs a judge at chance is called so, with its interval."""
    from harness.stats.agreement import kappa_with_interval as _kappa
    from reports.audit import warnings

    assert cohen_kappa(["A"] * 5, ["A"] * 5) is None
    same = _kappa(["A"] * 3, ["A"] * 3)
    assert same["value"] is None and same["ci_low"] is None and "undefined" in same["note"]
    three = _kappa(["A", "B", "A"], ["B", "A", "B"])
    assert three["value"] == pytest.approx(-0.8) and three["ci_low"] is None
    assert three["note"] == "n = 3: too few pairs to tell (at least 10 needed)"
    small = {
        "cohen_kappa": three,
        "human_agreement": {"value": 0.0, "ci_low": 0.0, "ci_high": 0.56, "n": 3},
        "prefers_first_slot": {"value": 1.0, "ci_low": 0.44, "ci_high": 1.0, "n": 3},
        "position_consistency": {"value": 0.0, "ci_low": 0.0, "ci_high": 0.56, "n": 3},
    }
    [said] = warnings(small)
    assert said.startswith("n = 3: too few pairs to tell") and "no finding" in said
    rng = np.random.default_rng(0)
    judge = rng.choice(["A", "B"], 200).tolist()
    human = rng.choice(["A", "B"], 200).tolist()
    chance = _kappa(judge, human)
    assert chance["ci_low"] is not None and chance["ci_low"] < 0 < chance["ci_high"]
    found = warnings({"cohen_kappa": chance})
    assert len(found) == 1 and "no better than chance" in found[0] and "n=200" in found[0]
