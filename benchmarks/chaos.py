"""Chaos: kill -9 / resume cycles of a real `harness run`, then a judge run at 20% faults.

    .venv/bin/python benchmarks/chaos.py --cycles 5

Part 1 runs `harness run --engine openai` against the loopback fake endpoint (each answer
after `--latency` seconds), sends SIGKILL at a random moment, and runs the same command
again, `--cycles` times, then once to completion. It prints cycles survived, and items
lost and duplicated (from items.jsonl against the suite).
Part 2 kills `harness judge pairwise` (40 pairs, 0.2 s per reply) at random moments over
`--cycles` cycles, then lets it finish, and counts at the endpoint the replies it answered:
each answered judgment asked again is one the kill lost (only replies in flight can be),
and the final output is checked for every pair exactly once.
Part 3 judges 100 pairs with `harness judge pairwise` against an endpoint that answers 20%
of requests with a fault (429, 500, a hang past the timeout, truncated JSON, garbage) and
prints judged, failed-and-recorded, and the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def endpoint(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_endpoint", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def kill_cycles(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    """`kill -9` a run against a loopback endpoint at random moments, then let it finish;
    count the items lost and duplicated, and the answered completions asked again."""
    rng = random.Random(args.seed)
    log = work / "generated.jsonl"
    server, url = endpoint("--latency", str(args.latency), "--log", str(log))
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--engine",
        "openai",
        "--base-url",
        url,
        "--model",
        "fake",
        "--suite",
        "quick",
        "--concurrency",
        "2",
        "--store",
        str(work / "store.sqlite"),
        "--out",
        str(work / "run"),
    ]
    survived = 0
    try:
        for _ in range(args.cycles):
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.5, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            survived += 1
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait()
    items = [json.loads(line) for line in (work / "run" / "items.jsonl").read_text().splitlines()]
    keys = [(r["suite"], r["id"]) for r in items]
    expected = 75
    answered = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
    again = len(answered) - len(set(answered))
    print(f"kill/resume cycles survived: {survived}; final run exit status {final.returncode}")
    print(
        f"generation: {len(answered)} answers from the endpoint for {len(set(answered))} "
        f"prompts: {again} answered completion(s) asked again (lost in flight; at most 2 per "
        "kill at concurrency 2)"
    )
    print(
        f"items: {len(set(keys))} of {expected}; lost {expected - len(set(keys))}; duplicated {len(keys) - len(set(keys))}"
    )


def write_pairs(path: Path, n: int) -> Path:
    """`n` trivial pairs to judge."""
    rows = [
        {"id": str(i), "prompt": f"Question {i}?", "response_a": f"a{i}", "response_b": f"b{i}"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def judge_kill_cycles(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    """`kill -9` of judging at random moments; answered judgments lost and duplicated."""
    rng = random.Random(args.seed + 1)
    log = work / "answered.jsonl"
    server, url = endpoint("--latency", "0.2", "--log", str(log))
    pairs = write_pairs(work / "kill-pairs.jsonl", 40)
    cmd = [
        *(sys.executable, "-m", "harness", "judge", "pairwise", "--input", str(pairs)),
        *("--output", str(work / "kill.jsonl"), "--judge", "openai:fake"),
        *("--judge-base-url", url, "--judge-concurrency", "2"),
        *("--store", str(work / "judge.sqlite")),
    ]
    try:
        for _ in range(args.cycles):
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(1.5, 4.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait()
    answered = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
    again = len(answered) - len(set(answered))
    rows = [json.loads(line) for line in (work / "kill.jsonl").read_text().splitlines()]
    ids = [r["id"] for r in rows]
    print(
        f"judge kill/resume: {args.cycles} kills, final exit status {final.returncode}; "
        f"{len(set(answered))} distinct judgments answered by the endpoint, {len(answered)} answers "
        f"in all: {again} answered judgment(s) asked again (lost in flight; at most 2 per kill at "
        f"concurrency 2); output {len(set(ids))} of 40 pairs, duplicated {len(ids) - len(set(ids))}"
    )


def fault_run(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    """Judge 100 pairs against an endpoint that fails 20% of requests in five ways."""
    server, url = endpoint(
        "--latency",
        "0.01",
        "--fault",
        "429=0.05",
        "--fault",
        "500=0.05",
        "--fault",
        "hang=0.03",
        "--fault",
        "truncated=0.04",
        "--fault",
        "garbage=0.03",
        "--seed",
        str(args.seed),
    )
    pairs = write_pairs(work / "pairs.jsonl", 100)
    try:
        start = time.time()
        judged = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness",
                "judge",
                "pairwise",
                "--input",
                str(pairs),
                "--output",
                str(work / "j.jsonl"),
                "--judge",
                "openai:fake",
                "--judge-base-url",
                url,
                "--judge-max-retries",
                "2",
                "--judge-timeout",
                "1",
                "--store",
                str(work / "store.sqlite"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        secs = time.time() - start
    finally:
        server.terminate()
        server.wait()
    rows = [json.loads(line) for line in (work / "j.jsonl").read_text().splitlines()]
    orders = [o for r in rows for o in r["orders"]]
    failed = [o for o in orders if o["error"] and o["error"] != "unparsed verdict"]
    print(
        f"fault run (20% faults): {len(rows)} pairs, {len(orders)} judgments in {secs:.1f} s; "
        f"with a reply {len(orders) - len(failed)}, failed and recorded with a reason {len(failed)}; "
        f"exit status {judged.returncode} (3 = some failed; re-run to retry them)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harness-chaos-"))
    env = {**os.environ, "HARNESS_HOME": str(work / "home")}
    kill_cycles(args, work, env)
    judge_kill_cycles(args, work, env)
    fault_run(args, work, env)
    print(f"work directory: {work}")


if __name__ == "__main__":
    main()
