"""Canaries against a scripted judge endpoint: an unchanged judge is called unchanged; a
second model behind the same name (one that prefers longer answers, or one that flips a
share of verdicts) is caught, exit 5 with --fail-on-drift; a small sample is inconclusive;
bad canary files are one-line errors."""

import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()
ANSWERS = re.compile(
    r"Assistant A's Answer\]\n(.*?)\n\[The End.*Assistant B's Answer\]\n(.*?)\n\[The End", re.S
)


def shorter_wins(messages: list[dict]) -> str:
    a, b = ANSWERS.search(messages[-1]["content"]).groups()  # type: ignore[union-attr]
    return "[[A]]" if len(a) < len(b) else "[[B]]"


def longer_wins(messages: list[dict]) -> str:
    a, b = ANSWERS.search(messages[-1]["content"]).groups()  # type: ignore[union-attr]
    return "[[A]]" if len(a) > len(b) else "[[B]]"


def flips_some(messages: list[dict]) -> str:
    """The shorter answer wins, except on the 40% of prompts this judge now sees otherwise."""
    text = messages[-1]["content"]
    a, b = ANSWERS.search(text).groups()  # type: ignore[union-attr]
    question = re.search(r"Question (\d+)", text).group(1)  # type: ignore[union-attr]
    flip = int(hashlib.sha256(question.encode()).hexdigest(), 16) % 10 < 4
    return "[[A]]" if (len(a) < len(b)) != flip else "[[B]]"


def write_pairs(path: Path, n: int = 30) -> None:
    rows = [
        {"id": f"q{i}", "prompt": f"Question {i}: how?", "response_a": "x" * (5 + i % 7),
         "response_b": "y" * (9 + i % 5)}
        for i in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_unchanged_judge_then_a_second_model_behind_the_same_name(tmp_path: Path) -> None:
    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs)
    with FakeEndpoint(reply=shorter_wins, served_model="judge-01") as ep:
        common = ["--judge", "openai:judge", "--judge-base-url", ep.url]
        pinned = runner.invoke(
            app, ["canary", "pin", "--pairs", str(pairs), "--out", str(canary), *common]
        )
        assert pinned.exit_code == 0, pinned.output
        assert len(ep.requests) == 30 * 2 * 2  # both orders, twice
        record = json.loads(canary.read_text())
        assert record["repeat_agreement"] == {"agree": 30, "n": 30}
        assert record["served"] == [{"model": "judge-01", "replies": 120}]
        same = runner.invoke(app, ["canary", "check", str(canary), "--fail-on-drift", *common])
        assert same.exit_code == 0, same.output
        assert "Canary: judge unchanged: no drift detected" in " ".join(same.stdout.split())
        assert len(ep.requests) == 180  # fresh replies, not from any store
        # A second model behind the same name, with the opposite taste.
        ep.reply, ep.served_model = longer_wins, "judge-02"
        moved = runner.invoke(
            app,
            ["canary", "check", str(canary), "--fail-on-drift", "--out", str(tmp_path / "c.json"), *common],
        )  # fmt: skip
    assert moved.exit_code == 5, moved.output
    said = " ".join(moved.stdout.split())
    assert "Canary: judge drift detected (agreement with the pinned verdicts" in said
    assert "vs 100% expected from the judge's own repeat at pinning; McNemar exact p" in said
    assert (
        "the endpoint now answers as model judge-02; at pinning it answered as model judge-01"
        in said
    )
    found = json.loads((tmp_path / "c.json").read_text())
    changed = sum(r["now"] != r["pinned"] for r in found["pairs"])  # equal lengths: both say B
    assert found["discordant"] == {"repeat_only": changed, "check_only": 0} and changed >= 25
    assert found["p_value"] == pytest.approx(0.5**changed)


def test_a_judge_that_flips_some_verdicts_is_caught_and_a_small_sample_is_inconclusive(
    tmp_path: Path,
) -> None:
    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs)
    with FakeEndpoint(reply=shorter_wins) as ep:
        common = ["--judge", "openai:judge", "--judge-base-url", ep.url]
        pinned = runner.invoke(
            app, ["canary", "pin", "--pairs", str(pairs), "--out", str(canary), *common]
        )
        assert pinned.exit_code == 0, pinned.output
        ep.reply = flips_some
        flipped = runner.invoke(
            app, ["canary", "check", str(canary), "--out", str(tmp_path / "f.json"), *common]
        )
        small = runner.invoke(
            app, ["canary", "check", str(canary), "--sample", "6", "--fail-on-drift", *common]
        )
    assert flipped.exit_code == 0  # without --fail-on-drift the exit status stays 0
    found = json.loads((tmp_path / "f.json").read_text())
    flips = sum(r["now"] != r["pinned"] for r in found["pairs"])
    assert found["status"] == "drift" and found["discordant"]["repeat_only"] == flips > 5
    assert small.exit_code == 0 and "inconclusive (n = 6 pairs with verdicts" in small.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("pairs"), "field 'pairs': missing"),
        (lambda c: c.update(version=9), "canary format 9 is not known"),
        (lambda c: c["pairs"][3].pop("verdict"), "field 'pairs[3].verdict': missing"),
        (lambda c: c.update(template_id="pairwise-v1@v1:000000000000"), "changed since the canary was pinned"),
    ],
)  # fmt: skip
def test_bad_canaries_are_one_line_errors(tmp_path: Path, change, message: str) -> None:
    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs, 12)
    with FakeEndpoint(reply=shorter_wins) as ep:
        common = ["--judge", "openai:judge", "--judge-base-url", ep.url]
        assert (
            runner.invoke(
                app, ["canary", "pin", "--pairs", str(pairs), "--out", str(canary), *common]
            ).exit_code
            == 0
        )
        record = json.loads(canary.read_text())
        change(record)
        canary.write_text(json.dumps(record))
        asked = len(ep.requests)
        bad = runner.invoke(app, ["canary", "check", str(canary), *common])
        assert len(ep.requests) == asked  # refused before any request
    assert (
        bad.exit_code == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    )


def test_the_python_api_pins_and_checks(tmp_path: Path) -> None:
    from harness import CanaryCheckConfig, CanaryPinConfig, canary_check, canary_pin

    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs, 12)
    with FakeEndpoint(reply=shorter_wins) as ep:
        record = canary_pin(
            CanaryPinConfig(judge="openai:j", pairs=str(pairs), out=canary, judge_base_url=ep.url)
        )
        found = canary_check(
            CanaryCheckConfig(canary=canary, judge="openai:j", judge_base_url=ep.url)
        )
    assert json.loads(canary.read_text()) == record and len(record["pairs"]) == 12
    assert found["status"] == "unchanged" and found["n"] == 12


def test_canary_alongside_judge_and_compare(tmp_path: Path, scripted) -> None:
    """`--canary` on harness judge and harness compare: the check runs with the same judge,
    its verdict goes into the summary and the report, and --fail-on-drift exits 5."""
    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs, 20)
    with FakeEndpoint(reply=shorter_wins) as ep:
        common = ["--judge", "openai:judge", "--judge-base-url", ep.url]
        assert (
            runner.invoke(
                app, ["canary", "pin", "--pairs", str(pairs), "--out", str(canary), *common]
            ).exit_code
            == 0
        )
        judged = runner.invoke(
            app,
            ["judge", "pairwise", "--input", str(pairs), "--output", str(tmp_path / "j.jsonl"),
             "--canary", str(canary), "--fail-on-drift", "--store", str(tmp_path / "s.sqlite"), *common],
        )  # fmt: skip
        assert judged.exit_code == 0, judged.output
        assert "Canary: judge unchanged" in " ".join(judged.stdout.split())
        ep.reply = longer_wins  # the judge changes between the pinning and this comparison
        compared = runner.invoke(
            app,
            ["compare", "--model", "base=plain", "--model", "long=long", "--baseline", "base",
             "--suite", "helpful-smoke", "--limit", "4", "--engine", "scripted", "--scorers",
             "none", "--canary", str(canary), "--canary-sample", "15", "--fail-on-drift",
             "--out", str(tmp_path / "cmp"), *common],
        )  # fmt: skip
    assert compared.exit_code == 5, compared.output
    payload = json.loads((tmp_path / "cmp" / "winrates.json").read_text())
    assert payload["canary"]["status"] == "drift" and payload["canary"]["pairs_checked"] == 15
    assert "Canary: judge drift detected" in (tmp_path / "cmp" / "summary.md").read_text()
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert '<p class="banner">Canary: judge drift detected' in page
    summary = json.loads((tmp_path / "j.summary.json").read_text())
    assert summary["canary"]["status"] == "unchanged" and summary["canary"]["n"] == 20


def test_a_bad_canary_stops_compare_before_any_generation(tmp_path: Path, scripted) -> None:
    bad = tmp_path / "canary.json"
    bad.write_text("{}")
    result = runner.invoke(
        app,
        ["compare", "--model", "a=plain", "--model", "b=long", "--baseline", "a", "--suite",
         "helpful-smoke", "--engine", "scripted", "--judge", "openai:j", "--canary", str(bad),
         "--out", str(tmp_path / "cmp")],
    )  # fmt: skip
    assert result.exit_code == 2 and "field 'version': missing" in result.stderr
    assert not scripted.engines  # no model was built


def test_a_panels_canary_checks_the_member_it_was_pinned_for(tmp_path: Path) -> None:
    """`--canary` on a panel: the member the canary was pinned for is checked (the other
    member changed, the pinned one did not: unchanged); a canary pinned for no member is
    refused before any request."""
    pairs, canary = tmp_path / "pairs.jsonl", tmp_path / "canary.json"
    write_pairs(pairs, 20)
    with FakeEndpoint(reply_by_model={"steady": shorter_wins, "other": shorter_wins}) as ep:
        base = ["--judge-base-url", ep.url]
        pinned = runner.invoke(
            app,
            ["canary", "pin", "--pairs", str(pairs), "--out", str(canary), "--judge",
             "openai:steady", *base],
        )  # fmt: skip
        assert pinned.exit_code == 0, pinned.output
        ep.reply_by_model["other"] = longer_wins  # only the member not pinned changes

        def judge(*judges: str) -> object:
            return runner.invoke(
                app,
                ["judge", "pairwise", "--input", str(pairs), "--output",
                 str(tmp_path / "j.jsonl"), "--canary", str(canary), "--fail-on-drift",
                 "--store", str(tmp_path / "s.sqlite"), *base,
                 *(x for j in judges for x in ("--judge", j))],
            )  # fmt: skip

        before = len(ep.requests)
        refused = judge("openai:other", "openai:third")
        assert refused.exit_code == 2 and len(ep.requests) == before  # type: ignore[attr-defined]
        assert "pinned for openai:steady, which is not a member" in refused.stderr  # type: ignore[attr-defined]
        checked = judge("openai:other", "openai:steady")
    assert checked.exit_code == 0, checked.output  # type: ignore[attr-defined]
    summary = json.loads((tmp_path / "j.summary.json").read_text())
    assert summary["canary"]["status"] == "unchanged"
    assert summary["canary"]["judge"]["spec"] == "openai:steady"
