"""The Python API: `from harness import ...` runs the same jobs as the CLI, and its tables
are the numbers the jobs write to disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import harness
from harness import (
    AuditConfig,
    CompareConfig,
    JudgeConfig,
    RunConfig,
    audit_judge,
    compare,
    evaluate,
    judge,
)
from harness.core.records import GenerationParams
from tests.harness.test_compare import prefers_good
from tests.support.fake_endpoint import FakeEndpoint


def test_evaluate_tables_equal_the_files_it_writes(tmp_path: Path, scripted: Any) -> None:
    config = RunConfig(
        model="scripted-model",
        suites=("quick",),
        out=tmp_path / "run",
        engine="scripted",
        params=GenerationParams(max_new_tokens=8),
        scorers=("refusal",),
        limit=4,
    )
    result = evaluate(config)
    items = [
        json.loads(line) for line in (tmp_path / "run" / "items.jsonl").read_text().splitlines()
    ]
    frame = result.to_pandas()
    assert len(frame) == len(items) == 12
    assert list(frame["completion"]) == [r["completion"] for r in items]
    assert list(frame["refusal_label"]) == [r["scores"]["refusal"]["label"] for r in items]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    metrics = result.metrics_frame()
    assert metrics.to_dict("records") == summary["metrics"]
    assert (metrics["ci_low"] <= metrics["value"]).all() and (metrics["n"] > 0).all()


def test_compare_table_equals_winrates_json(tmp_path: Path, scripted: Any) -> None:
    scripted.settings = {"suffix_by_model": {"good": " GOOD"}}
    with FakeEndpoint(reply=prefers_good) as ep:
        result = compare(
            CompareConfig(
                models=("base=plain", "good=good"),
                baseline="base",
                suites=("helpful-smoke",),
                judge="openai:judge",
                judge_base_url=ep.url,
                out=tmp_path / "cmp",
                engine="scripted",
                limit=6,
                n_bootstrap=50,
            )
        )
    written = json.loads((tmp_path / "cmp" / "winrates.json").read_text())
    rows = result.to_pandas().set_index("model")
    assert rows.loc["good", "win_rate"] == 100.0 and rows.loc["good", "n_total"] == 6
    assert result.to_pandas().to_dict("records")[1]["win_rate"] == written["models"][1]["win_rate"]


def always_first(messages: list[dict[str, Any]]) -> str:
    return "[[A]]"


def test_audit_judge_table_has_every_measure(tmp_path: Path, shared_data: Path) -> None:
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    with FakeEndpoint(reply=always_first) as ep:
        result = audit_judge(
            AuditConfig(
                judges=("openai:j",),
                pairs=source,
                out=tmp_path / "audit",
                limit=10,
                repeats=0,
                judge_base_url=ep.url,
            )
        )
    written = json.loads((tmp_path / "audit" / "audit.json").read_text())
    frame = result.to_pandas().set_index("measure")
    assert set(frame.index) == set(written["judges"][0]["measures"])
    assert frame.loc["prefers_first_slot", "value"] == 1.0
    assert (
        frame.loc["prefers_first_slot", "n"]
        == written["judges"][0]["measures"]["prefers_first_slot"]["n"]
    )


def test_panels_from_the_python_api(tmp_path: Path, shared_data: Path) -> None:
    """A panel through `judge` and `audit_judge`: the summary names each member, and the
    audit's table has a row per measure for each member and for the panel."""
    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"id": str(i), "prompt": f"q{i}", "response_a": "a", "response_b": "bb"})
            + "\n"
            for i in range(6)
        )
    )
    replies: dict[str, Any] = {"first": always_first, "second": lambda m: "[[B]]"}
    with FakeEndpoint(reply_by_model=replies) as ep:
        judged = judge(
            JudgeConfig(
                kind="pairwise",
                input=pairs,
                output=tmp_path / "j" / "out.jsonl",
                judge="openai:first",
                panel=("openai:second",),
                judge_base_url=ep.url,
                store=tmp_path / "s.sqlite",
            )
        )
        audited = audit_judge(
            AuditConfig(
                judges=("openai:first", "openai:second"),
                panel=True,
                pairs=source,
                out=tmp_path / "audit",
                limit=10,
                repeats=0,
                self_preference=False,
                judge_base_url=ep.url,
                store=tmp_path / "s.sqlite",
            )
        )
    assert judged.summary["panel"]["members"] == ["openai:first", "openai:second"]
    # Slot A always against slot B always: each member's two orders disagree, so each
    # member calls every pair a tie, and so does the panel (its orders are split votes).
    rows = [json.loads(x) for x in judged.output.read_text().splitlines()]
    assert {r["verdict"] for r in rows} == {"tie"} and len(rows) == 6
    assert {o["verdict"] for r in rows for o in r["orders"]} == {"tie"}
    assert judged.summary["panel"]["split_rate"]["value"] == 0.0
    frame = audited.to_pandas()
    assert list(dict.fromkeys(frame.judge)) == [
        "openai:first",
        "openai:second",
        "panel(openai:first, openai:second; vote)",
    ]
    assert frame.groupby("judge").size().nunique() == 1  # every measure for each


def test_unknown_api_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'evalute'"):
        harness.evalute  # noqa: B018
