"""`harness pipeline` on tiny settings: every variant trained, evaluated and compared in one
report; a second run resumes from the finished stages."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.jobs.pipeline import default_config_path, load_pipeline_config
from trainers.data import load_pairs

runner = CliRunner()


def test_shipped_config_is_valid() -> None:
    config = load_pipeline_config(default_config_path())
    assert config.methods == ["dpo", "ppo", "cai"] and config.base == "smollm2"


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({"data": "x.jsonl", "methods": ["dpo", "grpo"]}))
    result = runner.invoke(app, ["pipeline", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "field 'methods.1'" in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"compare": {"judge": "gpt-4o"}}, "judge spec 'gpt-4o' must look like"),
        ({"compare": {"judge": "no-panel.yaml"}}, "no-panel.yaml: no such panel file"),
        ({"compare": {"template": "pointwise-v1"}}, "needs a pairwise one"),
        ({"compare": {"suites": ["no-such-suite"]}}, "no-such-suite"),
        ({"eval": {"scorers": ["refusal", "nope"]}}, "nope"),
        ({"train": {"dpo": {"beta": -1}}}, "field 'train.dpo.beta'"),
        ({"compare": {"judge_client": {"timeout": 0}}}, "field 'compare.judge_client.timeout'"),
    ],
)
def test_pipeline_mistakes_are_refused_before_training_starts(
    tmp_path: Path, pairs_file: Path, change: dict, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.jobs.pipeline

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started before the config was checked")

    monkeypatch.setattr(harness.jobs.pipeline, "_train_all", no_training)
    config = tmp_path / "p.yaml"
    config.write_text(
        yaml.safe_dump({"data": str(pairs_file), "methods": ["dpo", "ppo"], **change})
    )
    out = tmp_path / "o"
    result = runner.invoke(app, ["pipeline", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


# Over 60 lines: an end-to-end scenario read top to bottom (train, evaluate, compare,
# resume), checked stage by stage.
@pytest.mark.model
@pytest.mark.slow
def test_pipeline_end_to_end(
    tmp_path: Path, smollm2_dir: Path, pairs_file: Path, shorter_judge
) -> None:
    judge = {"judge_base_url": shorter_judge.url}
    config = {
        "base": str(smollm2_dir),
        "data": str(pairs_file),
        "limit": 4,
        "train": {
            "common": {"max_steps": 1, "max_length": 128},
            "ppo": {"response_length": 8},
            "cai": {"max_new_tokens": 16, "judge": "openai:feedback", **judge},
        },
        "cai_prompts": 4,
        "eval": {
            "suites": ["harmful-smoke", "overrefusal-smoke"],
            "limit": 2,
            "max_new_tokens": 8,
            "scorers": ["refusal-rules", "toxicity"],
        },
        "compare": {"suites": ["helpful-smoke"], "limit": 3, "judge": "openai:j", **judge},
        "curves": {"every": 1},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    result = runner.invoke(app, ["pipeline", "--config", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output

    payload = json.loads((out / "pipeline.json").read_text())
    rows = {r["model"]: r for r in payload["rows"]}
    assert list(rows) == ["base", "dpo", "ppo", "cai"]
    assert [rows[m]["method"] for m in rows] == ["base", "dpo", "ppo", "cai"]
    for label, row in rows.items():
        harmful = row["metrics"]["harmful_compliance_rate"]
        assert harmful["n"] == 2 and harmful["ci_low"] <= harmful["value"] <= harmful["ci_high"]
        assert row["metrics"]["mean_toxicity"]["n"] == 4
        summary = json.loads((out / "eval" / label / "summary.json").read_text())
        assert (summary["manifest"]["training"] or {}).get("method", "base") == row["method"]
        if label != "base":
            win = row["win_rate_vs_base"]
            assert win["n"] == 3 and win["ci_low"] <= win["value"] <= win["ci_high"]
    assert set(payload["training"]) == {"dpo", "rm", "ppo", "cai"}
    # Curves: each variant evaluated as it trained (CAI through both stages, one count);
    # step 0 is the base model, so its evaluation finds what the base's run found.
    assert {m: [p["step"] for p in c["points"]] for m, c in payload["curves"].items()} == {
        "dpo": [0, 1],
        "ppo": [0, 1],
        "cai": [0, 1, 2],
    }
    base_harm = rows["base"]["metrics"]["harmful_compliance_rate"]
    for c in payload["curves"].values():
        [step0] = [
            m
            for m in c["points"][0]["metrics"]
            if m["metric"] == "harmful_compliance_rate" and m["suite"] == "all"
        ]
        assert step0["value"] == base_harm["value"] and step0["n"] == base_harm["n"]
    assert (out / "models" / "cai" / "report.html").is_file()
    assert json.loads((out / "models" / "cai" / "manifest.json").read_text())["evaluation"][
        "steps"
    ] == [0, 1, 2]
    html = (out / "report.html").read_text()
    assert "What alignment did to" in html and 'href="compare/report.html"' in html
    assert 'id="curves"' in html and html.count('class="overlay"') >= 2 and 'class="paths"' in html
    assert "| cai | cai |" in (out / "summary.md").read_text()
    compared = (out / "compare" / "report.html").read_text()
    assert "Training of ppo</dt><dd>ppo from " in compared  # the compare report shows manifests

    # The compare stage's judgments are training data for the next round.
    pairs = load_pairs(f"judgments:{out / 'compare' / 'judgments.jsonl'}")
    assert pairs and all(len(p.chosen) <= len(p.rejected) for p in pairs)

    # Running it again keeps every finished checkpoint and serves runs from the store.
    stamp = {
        m: (out / "models" / m / "manifest.json").stat().st_mtime_ns for m in rows if m != "base"
    }
    again = runner.invoke(app, ["pipeline", "--config", str(path), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "finished earlier, kept" in again.stderr
    for m, t in stamp.items():
        assert (out / "models" / m / "manifest.json").stat().st_mtime_ns == t
    assert json.loads((out / "pipeline.json").read_text())["rows"] == payload["rows"]
