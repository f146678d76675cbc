"""Judge panels: per-order majority or mean over members, no verdict where a member has none,
splits and member agreement counted; `harness judge pairwise` with two scripted judges of
known bias reports each member's bias and the panel's, checked against a recount."""

import hashlib
import json
import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.stats.agreement import cohen_kappa
from judges.llm.verdicts import OrderResult, PairResult
from judges.panel.aggregate import aggregate_order, panel_pairs
from judges.panel.agreement import panel_statistics
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()
ANSWERS = re.compile(
    r"Assistant A's Answer\]\n(.*?)\n\[The End.*Assistant B's Answer\]\n(.*?)\n\[The End", re.S
)


def o(order: str, verdict: str | None, pref: float | None = None) -> OrderResult:
    p = {"A": 0.0, "B": 1.0, "tie": 0.5}.get(verdict or "") if pref is None else pref
    return OrderResult(order, verdict, p, pref is not None, "r", None if verdict else "HTTP 500")  # type: ignore[arg-type]


def test_orders_are_decided_by_majority_or_mean_and_never_guessed() -> None:
    assert aggregate_order([o("AB", "A"), o("AB", "A"), o("AB", "B")], "vote").verdict == "A"
    split = aggregate_order([o("AB", "A"), o("AB", "B")], "vote")
    assert split.verdict == "tie" and split.preference == 0.5
    mean = aggregate_order([o("AB", "A", 0.3), o("AB", "B", 0.9)], "mean")
    assert mean.verdict == "B" and mean.preference == pytest.approx(0.6)
    missing = aggregate_order([o("AB", "A"), o("AB", None)], "vote")
    assert missing.verdict is None and "member 2: HTTP 500" in (missing.error or "")


def test_split_rate_and_agreement_match_a_direct_count() -> None:
    verdicts = [("A", "A"), ("B", "A"), ("B", "B"), ("tie", "A"), ("A", "A")] * 3
    members = [
        [PairResult(f"p{k}", (o("AB", a), o("BA", a)), True, a, 0.0, "ok") for k, (a, _) in enumerate(verdicts)],  # type: ignore[arg-type]
        [PairResult(f"p{k}", (o("AB", b), o("BA", b)), True, b, 0.0, "ok") for k, (_, b) in enumerate(verdicts)],  # type: ignore[arg-type]
    ]  # fmt: skip
    panel = panel_pairs(members, "vote")
    assert [p.verdict for p in panel] == [a if a == b else "tie" for a, b in verdicts]
    stats = panel_statistics(["x", "y"], panel)
    assert stats["split_rate"]["value"] == pytest.approx(6 / 15) and stats["split_rate"]["n"] == 15
    [pair] = stats["agreement"]
    expected = cohen_kappa([a for a, _ in verdicts], [b for _, b in verdicts])
    assert pair["value"] == pytest.approx(expected) and pair["ci_low"] < expected < pair["ci_high"]


def first_slot(messages: list[dict]) -> str:
    return "[[A]]"


def longer(messages: list[dict]) -> str:
    a, b = ANSWERS.search(messages[-1]["content"]).groups()  # type: ignore[union-attr]
    return "[[A]]" if len(a) >= len(b) else "[[B]]"


def test_a_panel_of_two_biased_judges_on_hh_rlhf(tmp_path: Path, shared_data: Path) -> None:
    from judges.audit.pairs import load_pairs

    pairs = tmp_path / "pairs.jsonl"
    found = load_pairs(f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}", 40)
    pairs.write_text("".join(json.dumps({"id": p.id, "prompt": p.prompt, "response_a": p.response_a, "response_b": p.response_b}) + "\n" for p in found))  # fmt: skip
    out = tmp_path / "panel.jsonl"
    with FakeEndpoint(reply_by_model={"first": first_slot, "long": longer}) as ep:
        result = runner.invoke(
            app,
            ["judge", "pairwise", "--input", str(pairs), "--output", str(out), "--judge",
             "openai:first", "--judge", "openai:long", "--judge-base-url", ep.url, "--store",
             str(tmp_path / "s.sqlite")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "panel.summary.json").read_text())
    panel = summary["panel"]
    by = {n: {m["metric"]: m for m in ms} for n, ms in panel["member_metrics"].items()}
    first, long = by["openai:first"], by["openai:long"]
    # Each member's bias, as built: one always picks slot A; the other the longer answer.
    assert first["prefers_first_slot"]["value"] == 1.0 and first["consistency_rate"]["value"] == 0.0
    unequal = sum(len(p.response_a) != len(p.response_b) for p in found)
    assert long["consistency_rate"]["value"] == pytest.approx(unequal / 40)  # ties: slot A
    # The panel's verdicts, recounted from how each member judges each order: the
    # first-slot judge names the answer shown first (A in order AB, B in BA); the other
    # names the longer answer (the one shown first on equal length).
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    splits = 0
    for row, p in zip(rows, found, strict=True):
        la, lb = len(p.response_a), len(p.response_b)
        long_orders = ["A" if la >= lb else "B", "B" if lb >= la else "A"]
        expected = [f if f == g else "tie" for f, g in zip(["A", "B"], long_orders, strict=True)]
        assert [x["verdict"] for x in row["orders"]] == expected
        long_pair = long_orders[0] if long_orders[0] == long_orders[1] else "tie"
        assert [m["verdict"] for m in row["members"]] == ["tie", long_pair]
        splits += long_pair != "tie"
    ours = {m["metric"]: m for m in summary["metrics"]}
    decisive = [x["verdict"] for r in rows for x in r["orders"] if x["verdict"] != "tie"]
    shown_first = [
        v
        for r in rows
        for x, v in zip(r["orders"], ("A", "B"), strict=True)
        if x["verdict"] != "tie"
    ]
    assert ours["prefers_first_slot"]["n"] == len(decisive)
    assert ours["prefers_first_slot"]["value"] == pytest.approx(
        sum(
            x["verdict"] == v
            for r in rows
            for x, v in zip(r["orders"], ("A", "B"), strict=True)
            if x["verdict"] != "tie"
        )
        / len(shown_first)
    )
    assert (
        panel["split_rate"]["value"] == pytest.approx(splits / 40)
        and panel["split_rate"]["n"] == 40
    )
    assert summary["judge"]["spec"] == "panel(openai:first, openai:long; vote)"
    assert summary["usage"]["requests"] == 40 * 2 * 2
    page = (tmp_path / "panel.report.html").read_text()
    assert 'id="panel"' in page and "openai:first vs openai:long" in page
    assert "answered as 2 different models" not in page  # two members are two models


def _draw(messages: list[dict], salt: str) -> float:
    digest = hashlib.sha256((json.dumps(messages) + salt).encode()).digest()
    return random.Random(digest).random()


OWN_ANSWER = "Here is my own short answer."
"""What the scripted judges write when asked a prompt rather than to judge (self-preference)."""


def first_80(messages: list[dict]) -> str:
    """Names the answer shown first 80% of the time (seeded by the request)."""
    if ANSWERS.search(messages[-1]["content"]) is None:
        return OWN_ANSWER
    return "[[A]]" if _draw(messages, "first") < 0.8 else "[[B]]"


def longer_80(messages: list[dict]) -> str:
    """Names the longer answer 80% of the time (seeded by the request)."""
    found = ANSWERS.search(messages[-1]["content"])
    if found is None:
        return OWN_ANSWER
    a, b = found.groups()
    pick = "A" if len(a) > len(b) else "B"
    if _draw(messages, "long") >= 0.8:
        pick = "B" if pick == "A" else "A"
    return f"[[{pick}]]"


def _vote(*verdicts: str | None) -> str | None:
    if any(v is None for v in verdicts):
        return None
    return verdicts[0] if len(set(verdicts)) == 1 else "tie"


def test_a_panel_audit_on_hh_rlhf_reports_each_members_bias_and_the_panels(
    tmp_path: Path, shared_data: Path
) -> None:
    """The Done-when audit: two scripted judges of known bias (the first slot 80% of the time;
    the longer answer 80% of the time), given as a panel file, audited on 120 HH-RLHF pairs.
    Each member's bias lies within its CI, and so does the panel's: a two-member vote decides
    an order only where the members agree, which is the first slot and the longer answer
    alike 0.8 of the time (0.64 + 0.16 of the 0.68 + 0.32 decisive orders). The panel's
    human agreement is recounted from its members' verdicts."""
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    panel_file = tmp_path / "panel.yaml"
    panel_file.write_text("aggregate: vote\nmembers:\n  - judge: openai:first\n  - openai:long\n")
    out = tmp_path / "audit"
    with FakeEndpoint(reply_by_model={"first": first_80, "long": longer_80}) as ep:
        result = runner.invoke(
            app,
            ["audit-judge", "--judge", str(panel_file), "--judge-base-url", ep.url,
             "--pairs", source, "--limit", "120", "--repeats", "1", "--self-max-new-tokens", "8",
             "--store", str(tmp_path / "s.sqlite"), "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    audited = json.loads((out / "audit.json").read_text())["judges"]
    assert [r["judge"]["spec"] for r in audited] == [
        "openai:first",
        "openai:long",
        "panel(openai:first, openai:long; vote)",
    ]
    first, long, panel = ({k: m for k, m in r["measures"].items()} for r in audited)

    def within(m: dict, value: float) -> bool:
        return m["ci_low"] <= value <= m["ci_high"] and m["n"] >= 100

    assert within(first["prefers_first_slot"], 0.8) and within(first["prefers_longer"], 0.5)
    assert within(long["prefers_longer"], 0.8) and within(long["prefers_first_slot"], 0.5)
    assert within(panel["prefers_first_slot"], 0.8) and within(panel["prefers_longer"], 0.8)
    # The first-slot judge is consistent only when its two orders happen to name the same
    # answer (0.8 * 0.2 twice): it agrees with humans on about 16% of pairs, whatever they said.
    assert within(first["human_agreement"], 0.16)
    # The panel's verdicts, recounted from its members' own order-level verdicts.
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    mine = [i for i in items if i["judge"].startswith("panel(")]
    assert len(mine) == 120
    agree = []
    for it in mine:
        members = it["base"]["members"]
        orders = [_vote(*(m["orders"][k]["verdict"] for m in members)) for k in range(2)]
        assert [o["verdict"] for o in it["base"]["orders"]] == orders
        pair = None if None in orders else orders[0] if orders[0] == orders[1] else "tie"
        assert it["base"]["verdict"] == pair
        if it["human"] in ("A", "B"):
            agree.append(pair == it["human"])
    assert panel["human_agreement"]["value"] == pytest.approx(sum(agree) / len(agree))
    assert panel["self_preference"]["value"] is None and first["self_preference"]["n"] == 120
    assert "a panel has no model of its own" in panel["self_preference"]["note"]
    stats = audited[2]["panel"]
    assert stats["members"] == ["openai:first", "openai:long"] and len(stats["agreement"]) == 1
    page = (out / "report.html").read_text()
    assert "panel(openai:first, openai:long; vote)" in page


def test_labels_by_majority_and_grades_by_median_or_mean() -> None:
    from judges.llm.classify import ClassResult
    from judges.llm.pointwise import PointResult
    from judges.panel.aggregate import panel_grades, panel_labels

    def lab(label: str | None) -> ClassResult:
        return ClassResult(
            "x", label, "r", None if label else "HTTP 500", "ok" if label else "failed"
        )

    def grade(score: float | None) -> PointResult:
        return PointResult(
            "x", score, "r", None if score else "unparsed score", "ok" if score else "unparsed"
        )

    [majority] = panel_labels([[lab("yes")], [lab("no")], [lab("yes")]])
    assert majority.label == "yes" and majority.status == "ok" and len(majority.members) == 3
    [tied] = panel_labels([[lab("yes")], [lab("no")]])
    assert tied.label is None and tied.status == "split" and "member 2: no" in (tied.error or "")
    [missing] = panel_labels([[lab("yes")], [lab(None)], [lab("yes")]])
    assert missing.label is None and "member 2: HTTP 500" in (missing.error or "")
    grades = [[grade(2.0)], [grade(9.0)], [grade(4.0)]]
    assert panel_grades(grades, "vote")[0].score == 4.0
    assert panel_grades(grades, "mean")[0].score == pytest.approx(5.0)
    assert panel_grades([[grade(2.0)], [grade(None)]], "mean")[0].score is None


def test_a_bad_panel_file_is_one_line_naming_the_field(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"id": "1", "prompt": "q", "response_a": "a", "response_b": "b"}) + "\n"
    )
    panel = tmp_path / "panel.yaml"
    for text, field in [
        ("members:\n  - judge: openai:x\n", "members"),  # one member is no panel
        ("members:\n  - judge: gpt4\n  - openai:y\n", "members.0"),
        ("aggregate: median\nmembers: [openai:x, openai:y]\n", "aggregate"),
        ("members: [openai:x, openai:x]\n", "members"),
    ]:
        panel.write_text(text)
        result = runner.invoke(
            app,
            ["judge", "pairwise", "--input", str(pairs), "--output", str(tmp_path / "o.jsonl"),
             "--judge", str(panel), "--judge-base-url", "http://127.0.0.1:9/v1"],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        [line] = result.stderr.strip().splitlines()
        assert str(panel) in line and field in line, line
        assert not (tmp_path / "o.jsonl").exists()


def test_a_panel_shares_one_budget(tmp_path: Path) -> None:
    """--max-requests caps the run, not each member: two members, ten requests in all."""
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": str(i), "prompt": f"q{i}", "response_a": "a", "response_b": "bb"}) + "\n" for i in range(8)))  # fmt: skip
    with FakeEndpoint(reply_by_model={"first": first_slot, "long": longer}) as ep:
        result = runner.invoke(
            app,
            ["judge", "pairwise", "--input", str(pairs), "--output", str(tmp_path / "o.jsonl"),
             "--judge", "openai:first", "--judge", "openai:long", "--judge-base-url", ep.url,
             "--max-requests", "10", "--store", str(tmp_path / "s.sqlite")],
        )  # fmt: skip
        assert len(ep.requests) == 10
    assert result.exit_code == 3, result.output  # the rest failed: 'budget exhausted'
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    errors = [o["error"] for r in rows for o in r["orders"] if o["verdict"] is None]
    assert errors and all("budget exhausted" in e for e in errors)
