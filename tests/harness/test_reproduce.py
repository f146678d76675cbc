"""`harness reproduce`: a run re-run from its manifest with a fresh store."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def run_args(out: Path, model: str = "smollm2", engine: str = "transformers") -> list[str]:
    return [
        *("run", "--model", model, "--engine", engine, "--suite", "quick", "--limit", "3"),
        *("--max-new-tokens", "12", "--scorers", "refusal-rules,diversity", "--out", str(out)),
    ]


@pytest.mark.model
def test_greedy_run_reproduces_exactly(tmp_path: Path, smollm2_dir: Path) -> None:
    first = runner.invoke(app, run_args(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["reproduce", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert again.exit_code == 0, again.output
    report = json.loads((tmp_path / "b" / "reproduction.json").read_text())
    assert report["exact"] and report["completions"] == report["identical_completions"] == 9
    assert report["metrics"] == report["identical_metrics"] > 0
    assert (tmp_path / "b" / "reproduction-store.sqlite").exists()  # regenerated, not cached


def test_differences_are_listed_and_exit_4(tmp_path: Path, scripted) -> None:
    first = runner.invoke(app, run_args(tmp_path / "a", "scripted-model", "scripted"))
    assert first.exit_code == 0, first.output
    scripted.settings = {"suffix_by_model": {"scripted-model": " (changed)"}}
    again = runner.invoke(app, ["reproduce", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert again.exit_code == 4
    report = json.loads((tmp_path / "b" / "reproduction.json").read_text())
    assert not report["exact"] and report["identical_completions"] == 0
    assert any("completion differs" in d for d in report["differences"])


def test_changed_suite_and_bad_dirs_are_user_errors(tmp_path: Path, scripted) -> None:
    suite = tmp_path / "s.jsonl"
    suite.write_text('{"id": "a", "prompt": "hi"}\n')
    args = ["run", "--model", "m", "--engine", "scripted", "--suite", str(suite)]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "a")]).exit_code == 0
    suite.write_text('{"id": "a", "prompt": "hello"}\n')
    changed = runner.invoke(app, ["reproduce", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert changed.exit_code == 2 and "changed since the run" in changed.stderr
    missing = runner.invoke(
        app, ["reproduce", str(tmp_path / "nope"), "--out", str(tmp_path / "c")]
    )
    assert missing.exit_code == 2 and "not a finished run directory" in missing.stderr


def test_compare_names_a_missing_metric(tmp_path: Path) -> None:
    from harness.jobs.reproduce import compare

    metric = {
        "suite": "s",
        "metric": "m",
        "scorer": "x",
        "value": 0.5,
        "ci_low": 0,
        "ci_high": 1,
        "n": 2,
    }
    item = {"suite": "s", "id": "a", "sample_index": 0, "completion": "hi"}
    out = tmp_path / "again"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"metrics": [], "manifest": {"config": {}}}))
    (out / "items.jsonl").write_text(json.dumps(item) + "\n")
    found = compare({"metrics": [metric]}, [item], out)
    assert found.identical_completions == 1 and found.metrics == 1
    assert found.differences == ["metric ('s', 'm', 'x'): only in the run"]
