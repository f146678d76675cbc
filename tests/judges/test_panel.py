"""Judge panels: per-order majority or mean over members, no verdict where a member has none,
splits and member agreement counted; `harness judge pairwise` with two scripted judges of
known bias reports each member's bias and the panel's, checked against a recount."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from judges.audit.measures import cohen_kappa
from judges.llm.verdicts import OrderResult, PairResult
from judges.panel.panel import aggregate_order, panel_pairs, panel_statistics
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
