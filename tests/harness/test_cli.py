"""The `harness` command end to end, in process."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from tests.support.commands import scripted_run

runner = CliRunner()


@pytest.mark.model
def test_run_on_the_embedded_model(tmp_path: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "run"
    args = [
        "run",
        "--model",
        "smollm2",
        "--suite",
        "quick",
        "--limit",
        "6",
        "--max-new-tokens",
        "32",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # The report's banners on the terminal too: which model scored toxicity, a small sample.
    assert "! Toxicity scores come from toxicity-minilm" in result.output
    assert "! Small sample: harmful compliance (n = " in result.output
    card = (out / "summary.md").read_text()  # the same scorecard and warnings, in Markdown
    assert card.startswith("### smollm2: scorecard") and "> **Warning:** Small sample" in card
    assert "| harmful compliance | " in card and "| over-refusal | " in card
    assert re.search(
        r"\| harmful compliance \| [\d.]+ \[[\d.]+, [\d.]+\] \(n=\d+\) \| lower is safer \|", card
    )
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 18
    assert all(r["completion"].strip() and r["completion_tokens"] > 0 for r in items)
    assert all(r["scores"]["refusal"]["label"] in {"compliance", "full_refusal"} for r in items)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "smollm2"
    metrics = summary["metrics"]
    assert {(m["suite"], m["metric"]) for m in metrics} >= {
        ("harmful-smoke", "harmful_compliance_rate"),
        ("overrefusal-smoke", "over_refusal_rate"),
    }
    assert all(set(m) >= {"suite", "metric", "value", "ci_low", "ci_high", "n"} for m in metrics)
    # Rates keep their (Wilson) interval at any n; a measure without one says why
    # (diversity over a handful of answers: too few to tell).
    for m in metrics:
        assert m["n"] > 0
        if m["ci_low"] is None:
            assert m["ci_high"] is None and m["note"] and not m["metric"].endswith("_rate")
        else:
            assert m["ci_low"] <= m["value"] <= m["ci_high"] and m["ci_low"] < m["ci_high"]
    # The default toxicity model calls none of the embedded model's helpful answers toxic
    # (the earlier stand-in called 12% of them toxic in the demo).
    by = {(m["suite"], m["scorer"], m["metric"]): m for m in metrics}
    assert by[("helpful-smoke", "toxicity", "toxic_share")]["value"] == 0.0
    html = (out / "report.html").read_text()
    assert "harmful_compliance_rate" in html and "Content-Security-Policy" in html

    again = runner.invoke(app, [*args[:-1], str(tmp_path / "again")])
    assert again.exit_code == 0 and "0 generated, 18 from the store" in again.output
    assert (tmp_path / "again" / "items.jsonl").read_text() == (out / "items.jsonl").read_text()


def test_bad_suite_is_one_line_exit_2_and_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n  - id: a\n    prompt: hi\n    shuold_refuse: true\n")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", "--model", "x", "--suite", str(bad), "--out", str(out), "--engine", "scripted"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {bad}:4: field 'shuold_refuse': Extra inputs are not permitted"]
    assert not out.exists()


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--engine", "trnasformers"], "unknown engine 'trnasformers'"),
        (["--scorers", "refusl"], "Did you mean 'refusal'"),
        (["--max-new-tokens", "0"], "--max-new-tokens"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_options_are_user_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(
        app, ["run", "--model", "smollm2", "--suite", "quick", "--out", str(tmp_path / "o"), *extra]
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "--model", "no-such-model", "--suite", "quick", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "unknown model 'no-such-model'" in result.stderr


def test_unwritable_output_dir(tmp_path: Path, scripted) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, scripted_run("quick", blocker / "out"))
    assert result.exit_code == 2 and "cannot create the output directory" in result.stderr


def test_failed_items_exit_3(tmp_path: Path, scripted) -> None:
    scripted.settings = {"error_prompts": {"What is 17 multiplied by 23?"}}
    result = runner.invoke(app, scripted_run("helpful-smoke", tmp_path / "o", "--limit", "2"))
    assert result.exit_code == 3
    assert "failed: helpful-smoke/hp-01: HTTP 500 from the endpoint" in result.stderr
    assert (tmp_path / "o" / "summary.json").exists()


def test_suites_commands(shared_data: Path) -> None:
    listed = runner.invoke(app, ["suites", "list"])
    assert (
        listed.exit_code == 0
        and "quick = harmful-smoke + overrefusal-smoke + helpful-smoke" in listed.output
    )
    checked = runner.invoke(
        app, ["suites", "check", f"xstest:{shared_data / 'xstest' / 'xstest_prompts.csv'}"]
    )
    assert checked.exit_code == 0 and "xstest: 450 items (200 should_refuse)" in checked.output


def test_every_command_that_judges_takes_the_judge_client_options() -> None:
    """One set of judge-client flags (harness/cli/options.py), on every command that judges."""
    import typer.main

    from harness.cli import app

    group = typer.main.get_command(app)
    flags = {"--judge-timeout", "--judge-max-retries", "--judge-concurrency", "--judge-max-tokens"}
    for name in ("judge", "compare", "audit-judge", "process", "run", "score", "train"):
        command = group.commands[name]  # type: ignore[attr-defined]
        given = {opt for p in command.params for opt in p.opts}
        assert flags <= given, (name, flags - given)


def test_help_at_80_columns_shows_every_option_whole_and_marks_required_ones() -> None:
    """At 80 columns no option name is cut ("--judge-concurre…" was), and a required option
    says so."""
    import typer.main

    from harness.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        shown = runner.invoke(app, [name, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert shown.exit_code == 0, (name, shown.output)
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in shown.output, (name, opt)
    audit = group.commands["audit-judge"]  # type: ignore[attr-defined]
    assert next(p for p in audit.params if "--judge" in p.opts).required
