"""`kill -9` of a real `harness run`, then the same command again: every item exactly once."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]


def count_rows(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    try:
        return int(
            sqlite3.connect(db, timeout=5).execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        )
    except sqlite3.OperationalError:  # table not created yet
        return 0


def stored(db: Path) -> int:
    return count_rows(db, "generations")


def judged(db: Path) -> int:
    return count_rows(db, "judgments")


def kill_when(
    cmd: list[str], env: dict[str, str], ready: Callable[[], bool], timeout: float, poll: float
) -> None:
    """Start `cmd`, wait until `ready()` (or it exits, or `timeout` passes), then `kill -9` it."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not ready() and time.time() < deadline and proc.poll() is None:
        time.sleep(poll)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_kill_then_resume(tmp_path: Path, harness_home: Path, smollm2_dir: Path) -> None:
    db = tmp_path / "store.sqlite"
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--model",
        "smollm2",
        "--suite",
        "quick",
        "--limit",
        "8",
        "--max-new-tokens",
        "12",
        "--batch-size",
        "4",
        "--store",
        str(db),
        "--out",
        str(out),
    ]
    env = {**os.environ, "HARNESS_HOME": str(harness_home)}
    kill_when(cmd, env, lambda: stored(db) >= 8, timeout=240, poll=0.2)
    before = stored(db)
    assert 8 <= before < 24, "the kill should land mid-run"
    assert not (out / "items.jsonl").exists()

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{24 - before} generated, {before} from the store" in " ".join(done.stdout.split())
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    keys = [(r["suite"], r["id"], r["sample_index"]) for r in items]
    assert len(keys) == 24 and len(set(keys)) == 24
    assert stored(db) == 24

    # An uninterrupted run (own store) gives the same completions and the same summary.
    clean_out = tmp_path / "clean"
    clean_cmd = [*cmd[:-4], "--store", str(tmp_path / "clean.sqlite"), "--out", str(clean_out)]
    clean = subprocess.run(clean_cmd, env=env, capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr
    clean_items = [json.loads(x) for x in (clean_out / "items.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in clean_items] == [r["completion"] for r in items]

    def metrics(path: Path) -> list[dict]:
        return json.loads((path / "summary.json").read_text())["metrics"]

    assert metrics(clean_out) == metrics(out)


# Over 60 lines: an end-to-end scenario read top to bottom (start, interrupt or serve,
# resume or re-run, check); most of its length is the command line it runs.
def test_kill_compare_then_resume(tmp_path: Path, harness_home: Path) -> None:
    """`kill -9` of `harness compare` mid-judging: the re-run judges only what was missing."""
    from tests.support.fake_endpoint import FakeEndpoint

    db = tmp_path / "store.sqlite"
    out = tmp_path / "cmp"

    def verdict(messages: list[dict]) -> str:
        if "[User Question]" in messages[-1]["content"]:
            return "[[B]]"
        return f"answer {uuid.uuid4().hex}"  # the two models answer differently

    with FakeEndpoint(reply=verdict, latency=0.05) as ep:
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "compare",
            "--engine",
            "openai",
            "--base-url",
            ep.url,
            "--model",
            "a=model-a",
            "--model",
            "b=model-b",
            "--baseline",
            "a",
            "--suite",
            "quick",
            "--judge",
            "openai:j",
            "--judge-base-url",
            ep.url,
            "--judge-concurrency",
            "2",
            "--bootstrap",
            "100",
            "--store",
            str(db),
            "--out",
            str(out),
        ]
        env = {**os.environ, "HARNESS_HOME": str(harness_home)}

        def asked() -> int:
            return sum("[User Question]" in r["messages"][-1]["content"] for r in ep.requests)

        # Killed after 37 judge requests, a count no batch boundary lines up with.
        kill_when(cmd, env, lambda: asked() >= 37, timeout=120, poll=0.02)
        before = judged(db)
        assert 30 <= before < 150 and not (out / "winrates.json").exists()
        judge_requests = [
            r for r in ep.requests if "[User Question]" in r["messages"][-1]["content"]
        ]
        n_before = len(judge_requests)
        # Every reply is stored as it arrives: the kill lost at most the 2 in flight.
        assert n_before - before <= 2
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        judge_requests = [
            r for r in ep.requests if "[User Question]" in r["messages"][-1]["content"]
        ]
    assert len(judge_requests) - n_before == 150 - before  # stored judgments were not asked again
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == 75 and len({r["id"] for r in rows}) == 75
    payload = json.loads((out / "winrates.json").read_text())
    b = next(r for r in payload["models"] if r["model"] == "b")
    assert b["n_total"] == 75 and b["win_rate"] == 50.0  # always "B": position-biased, all ties


# Over 60 lines: an end-to-end scenario read top to bottom (start, interrupt or serve,
# resume or re-run, check); most of its length is the command line it runs.
def test_kill_audit_then_resume(tmp_path: Path, harness_home: Path, shared_data: Path) -> None:
    """`kill -9` of `harness audit-judge`: the re-run asks only for the judgments that were not
    stored, and its measures equal those of an uninterrupted audit."""
    from tests.support.fake_endpoint import FakeEndpoint

    def reply(messages: list[dict]) -> str:
        text = messages[-1]["content"]
        if "[User Question]" not in text:
            return "A short answer of my own."
        return "[[A]]" if len(text) % 3 else "[[B]]"  # deterministic, content-dependent

    def judge_requests(ep: FakeEndpoint) -> int:
        return sum("[User Question]" in r["messages"][-1]["content"] for r in ep.requests)

    source = f"hh-rlhf:{shared_data / 'hh-rlhf' / 'harmless-base-test.jsonl.gz'}"
    env = {**os.environ, "HARNESS_HOME": str(harness_home)}

    def command(ep: FakeEndpoint, db: Path, out: Path) -> list[str]:
        return [
            *(sys.executable, "-m", "harness", "audit-judge", "--judge", "openai:j"),
            *("--judge-base-url", ep.url, "--judge-concurrency", "2", "--pairs", source),
            *("--limit", "40", "--repeats", "2", "--store", str(db), "--out", str(out)),
        ]

    with FakeEndpoint(reply=reply, latency=0.02) as ep:
        clean = subprocess.run(
            command(ep, tmp_path / "clean.sqlite", tmp_path / "clean"),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert clean.returncode == 0, clean.stderr
        total = judge_requests(ep)
        assert judged(tmp_path / "clean.sqlite") == total

    db, out = tmp_path / "store.sqlite", tmp_path / "audit"
    with FakeEndpoint(reply=reply, latency=0.02) as ep:
        proc = subprocess.Popen(
            command(ep, db, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 120
        while judged(db) < total // 3 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = judged(db)
        assert 0 < before < total and not (out / "audit.json").exists()
        print(f"killed at {before} of {total} judgments")
        asked_before = judge_requests(ep)
        done = subprocess.run(command(ep, db, out), env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert judge_requests(ep) - asked_before == total - before
    assert judged(db) == total

    def measures(path: Path) -> dict:
        payload = json.loads((path / "audit.json").read_text())
        found = payload["judges"][0]["measures"]
        return {k: v for k, v in found.items() if k not in {"seconds_per_1000"}}

    assert len(measures(out)) >= 10 and measures(out) == measures(tmp_path / "clean")
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert len(rows) == len({json.dumps(r, sort_keys=True) for r in rows})


def test_kill_remote_generation_then_resume(tmp_path: Path, harness_home: Path) -> None:
    """`kill -9` of `harness run --engine openai`: every answered completion was stored as it
    arrived (the kill lost at most the 2 in flight), and the re-run asks only for the rest."""
    from tests.support.fake_endpoint import FakeEndpoint

    db, out = tmp_path / "store.sqlite", tmp_path / "run"
    with FakeEndpoint(latency=0.05) as ep:
        cmd = [
            *(sys.executable, "-m", "harness", "run", "--engine", "openai"),
            *("--base-url", ep.url, "--model", "fake", "--suite", "quick"),
            *("--concurrency", "2", "--scorers", "refusal-rules"),
            *("--store", str(db), "--out", str(out)),
        ]
        env = {**os.environ, "HARNESS_HOME": str(harness_home)}
        kill_when(cmd, env, lambda: len(ep.requests) >= 21, timeout=120, poll=0.01)
        asked, kept = len(ep.requests), stored(db)
        assert 0 < kept <= asked <= kept + 2 and not (out / "summary.json").exists()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(ep.requests) - asked == 75 - kept  # only the missing ones were asked
    keys = [(r["suite"], r["id"]) for r in map(json.loads, (out / "items.jsonl").open())]
    assert len(keys) == len(set(keys)) == 75
