"""Training with in-training evaluation on the embedded model (DPO on HH-RLHF harmless
pairs): the curves hold, item for item, what an independent `harness run` of each saved
checkpoint finds; the choice of `--select` is recorded; the report renders inert; and a
killed run resumes without evaluating a finished step again."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from tests.support.browser import Tags, browse
from tests.support.fake_endpoint import FakeEndpoint

pytestmark = [pytest.mark.model, pytest.mark.slow]
runner = CliRunner()
EVAL = ["--eval-suite", "harmful-smoke", "--eval-suite", "overrefusal-smoke", "--eval-limit", "3",
        "--eval-max-new-tokens", "16"]  # fmt: skip


def prefers_shorter(messages: list[dict]) -> str:
    """A scripted pairwise-v1 judge: the shorter answer wins in either slot (ties: C)."""
    text = messages[-1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", text, re.S)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End", text, re.S)
    assert a and b
    if len(a.group(1)) == len(b.group(1)):
        return "Same length. [[C]]"
    return "[[A]]" if len(a.group(1)) < len(b.group(1)) else "[[B]]"


def items(run_dir: Path) -> list[tuple]:
    rows = [json.loads(x) for x in (run_dir / "items.jsonl").read_text().splitlines()]
    return [(r["suite"], r["id"], r["completion"], r["scores"]["refusal"]["label"]) for r in rows]


def test_dpo_curves_match_independent_runs_of_each_checkpoint(
    tmp_path: Path, harness_home: Path, shared_data: Path
) -> None:
    hostile = (
        '<img src=x onerror="document.title=1">'  # in the data's file name, shown in the report
    )
    data = tmp_path / f"{hostile}.jsonl.gz"
    data.write_bytes((shared_data / "hh-rlhf" / "harmless-base-test.jsonl.gz").read_bytes())
    out = tmp_path / "dpo"
    with FakeEndpoint(reply=prefers_shorter) as judge:
        result = runner.invoke(
            app,
            ["train", "dpo", "--data", f"hh-rlhf:{data}", "--limit", "8", "--max-steps", "4",
             "--out", str(out), "--eval-every", "2", *EVAL, "--eval-judge", "openai:judge",
             "--eval-judge-base-url", judge.url,
             "--select", "harmful_compliance<=1,maximise:win_rate"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    curves = json.loads((out / "curves.json").read_text())
    points = {p["step"]: p for p in curves["points"]}
    assert sorted(points) == [0, 2, 4]
    for step in (2, 4):
        # An independent run of the saved checkpoint, in a store of its own.
        ran = runner.invoke(
            app,
            ["run", "--model", str(out / points[step]["checkpoint"]), "--suite", "harmful-smoke",
             "--suite", "overrefusal-smoke", "--limit", "3", "--max-new-tokens", "16",
             "--store", str(tmp_path / f"fresh-{step}.sqlite"), "--out", str(tmp_path / f"r{step}")],
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
        assert items(tmp_path / f"r{step}") == items(out / points[step]["run"])
        own = json.loads((tmp_path / f"r{step}" / "summary.json").read_text())["metrics"]
        assert points[step]["metrics"] == own
        assert {"harmful_compliance_rate", "over_refusal_rate"} <= {m["metric"] for m in own}
        win = points[step]["win_rate"]
        assert win["n"] == 6 and win["ci_low"] <= win["value"] <= win["ci_high"]
        assert "rewards/margins" in points[step]["trainer"]  # DPO's own log at that step
    assert points[0]["win_rate"]["value"] == 0.5 and points[0]["win_rate"]["ci_low"] is None
    # The choice, why, and the time spent evaluating apart from training.
    manifest = json.loads((out / "manifest.json").read_text())
    chosen = manifest["evaluation"]["selection"]
    best = max(points.values(), key=lambda p: (p["win_rate"]["value"], -p["step"]))
    assert chosen["selected"] == best["step"] and "win_rate" in chosen["why"]
    assert manifest["evaluation"]["steps"] == [0, 2, 4] and manifest["steps"] == 4
    assert curves["seconds"]["evaluation"] > 0 and curves["seconds"]["training"] > 0
    # The report: curves, trade-off path and scorecard; the hostile file name kept inert.
    dom = browse((out / "report.html").read_text(), tmp_path, "curves-report")
    parsed = Tags()
    parsed.feed(dom)
    assert parsed.title == "alignment-harness training curves: dpo on smollm2"  # no script ran
    assert not {"script", "img", "iframe"} & {t for t, _ in parsed.tags}
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    links = [
        a.get("href") or "" for t, a in parsed.tags if t == "a"
    ]  # the report's own relative links
    assert links and all(h.startswith(("checkpoints/", "evals/")) for h in links)
    ids = [a.get("id") for t, a in parsed.tags if t == "section"]
    assert ids == ["header", "selection", "curves", "tradeoff", "scorecard", "steps"]
    assert dom.count('class="band"') >= 3 and 'class="path"' in dom and 'class="win-drift"' in dom
    assert "&lt;img src=x" in dom and "DPO implicit reward margin" in dom


def test_a_killed_run_resumes_without_evaluating_finished_steps(
    tmp_path: Path, harness_home: Path, pairs_file: Path
) -> None:
    out = tmp_path / "sft"
    work = tmp_path / ".sft.partial"
    sft = tmp_path / "sft.jsonl"
    sft.write_text(
        "".join(
            json.dumps({"messages": [{"role": "user", "content": json.loads(x)["prompt"]},
                                     {"role": "assistant", "content": json.loads(x)["chosen"]}]})
            + "\n"
            for x in pairs_file.read_text().splitlines()
        )
    )  # fmt: skip
    cmd = [sys.executable, "-m", "harness", "train", "sft", "--data", str(sft), "--max-steps", "4",
           "--out", str(out), "--eval-every", "1", "--eval-scorers", "refusal", *EVAL]  # fmt: skip
    env = {**os.environ, "HARNESS_HOME": str(harness_home)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = work / "curves.jsonl"

    def evaluated() -> int:
        return len(records.read_text().splitlines()) if records.exists() else 0

    deadline = time.time() + 300
    # After the third evaluation (step 2) the trainer state of step 1 is surely saved.
    while evaluated() < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = [json.loads(x) for x in records.read_text().splitlines()]
    assert [r["step"] for r in first][:3] == [0, 1, 2] and not out.exists()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    curves = json.loads((out / "curves.json").read_text())
    assert [p["step"] for p in curves["points"]] == [0, 1, 2, 3, 4]
    found = re.search(r"resuming at step (\d+): (\d+) evaluation", done.stderr)
    assert found, done.stderr
    resumed, kept_n = int(found.group(1)), int(found.group(2))
    assert resumed in (1, 2) and kept_n == resumed + 1  # from a saved trainer state
    kept = {r["step"]: r for r in first}
    for p in curves["points"]:
        if p["step"] <= resumed:  # not evaluated again: the same record
            assert p["evaluated_at"] == kept[p["step"]]["evaluated_at"]
            assert p["eval_seconds"] == kept[p["step"]]["eval_seconds"]
    assert not work.exists() and not (out / "curves.jsonl").exists()
