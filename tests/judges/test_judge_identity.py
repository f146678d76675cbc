"""Who answered: every verdict records the model (and system fingerprint) the endpoint
named; a second model behind the same name, within a run or across a run and its
resume, is reported; a reproduction flags a judge that answers as another model."""

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner, Result

from harness.cli import app
from harness.core.store import ResultsStore
from harness.jobs.reproduce import judge_identity_differences
from tests.support.fake_endpoint import FakeEndpoint

runner = CliRunner()


def first_slot(messages: list[dict]) -> str:
    return "[[A]]"


def write_pairs(path: Path, n: int) -> None:
    rows = [
        {"id": f"q{i}", "prompt": f"Question {i}?", "response_a": f"a {i}", "response_b": f"b {i}"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def judge(pairs: Path, out: Path, store: Path, url: str) -> Result:
    return runner.invoke(
        app,
        ["judge", "pairwise", "--input", str(pairs), "--output", str(out), "--judge",
         "openai:judge", "--store", str(store), "--judge-base-url", url],
    )  # fmt: skip


def test_verdicts_name_who_answered_and_a_swapped_model_is_reported(tmp_path: Path) -> None:
    pairs, store = tmp_path / "pairs.jsonl", tmp_path / "s.sqlite"
    write_pairs(pairs, 5)
    with FakeEndpoint(
        reply=first_slot, served_model="judge-2026-01", system_fingerprint="fp_a"
    ) as ep:
        first = judge(pairs, tmp_path / "one.jsonl", store, ep.url)
        assert first.exit_code == 0, first.output
        rows = [json.loads(x) for x in (tmp_path / "one.jsonl").read_text().splitlines()]
        who = {"model": "judge-2026-01", "system_fingerprint": "fp_a"}
        assert all(o["served"] == who for r in rows for o in r["orders"])
        usage = json.loads((tmp_path / "one.summary.json").read_text())["usage"]
        assert usage["served"] == [{**who, "replies": 10}]
        assert "answered as" not in first.stderr
        # The provider puts another model behind the same name; the run is extended by 3
        # pairs: 10 replies come from the store (fp_a), 6 are fresh (fp_b).
        ep.system_fingerprint = "fp_b"
        write_pairs(pairs, 8)
        second = judge(pairs, tmp_path / "two.jsonl", store, ep.url)
    assert second.exit_code == 0, second.output
    usage = json.loads((tmp_path / "two.summary.json").read_text())["usage"]
    assert usage["served"] == [
        {**who, "replies": 10},
        {"model": "judge-2026-01", "system_fingerprint": "fp_b", "replies": 6},
    ]
    said = " ".join(second.stderr.split())
    assert "The judge answered as 2 different models" in said
    assert "system_fingerprint fp_b (6 replies)" in said
    assert "answered as 2 different models" in (tmp_path / "two.report.html").read_text()


def test_an_older_store_gains_the_column_and_its_replies_stay_unrecorded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE judgments (key TEXT PRIMARY KEY, judge TEXT NOT NULL, template TEXT NOT "
        "NULL, request TEXT NOT NULL, text TEXT NOT NULL, top_logprobs TEXT, prompt_tokens "
        "INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, seconds REAL NOT NULL, created "
        "REAL NOT NULL)"
    )
    db.execute("INSERT INTO judgments VALUES ('k', '{}', 't', '{}', '[[A]]', NULL, 1, 1, 0.1, 0)")
    db.commit()
    db.close()
    with ResultsStore(path) as store:
        assert store.get_judgments(["k"])["k"]["served"] is None
        store.put_judgments([("k2", {}, "t", {}, {"text": "x", "served": {"model": "m"}})])
        assert store.get_judgments(["k2"])["k2"]["served"] == {"model": "m"}


def test_a_reproduction_flags_a_judge_that_answers_as_another_model() -> None:
    run = [{"judge": "openai:j", "template": "t@v1", "served": [{"model": "j-01", "replies": 4}]}]
    same = [{"judge": "openai:j", "template": "t@v1", "served": [{"model": "j-01", "replies": 4}]}]
    other = [{"judge": "openai:j", "template": "t@v1", "served": [{"model": "j-02", "replies": 4}]}]
    unknown = [{"judge": "openai:j", "template": "t@v1", "served": [{"replies": 4}]}]
    assert judge_identity_differences(run, same) == []
    assert judge_identity_differences(unknown, other) == []  # nothing recorded to differ from
    [line] = judge_identity_differences(run, other)
    assert "judge openai:j answered as" in line and "j-02" in line and "j-01" in line


def test_a_reproduction_checks_a_panels_members_one_by_one() -> None:
    def panel(second: str) -> list[dict]:
        members = [
            {"judge": "openai:a", "template": "t@v1", "served": [{"model": "a-01", "replies": 4}]},
            {"judge": "openai:b", "template": "t@v1", "served": [{"model": second, "replies": 4}]},
        ]
        return [
            {"judge": "panel(openai:a, openai:b; vote)", "template": "t@v1", "members": members}
        ]

    assert judge_identity_differences(panel("b-01"), panel("b-01")) == []
    [line] = judge_identity_differences(panel("b-01"), panel("b-02"))
    assert line.startswith("judge openai:b answered as model b-02")
