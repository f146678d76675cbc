"""Judge fan-out: requests/s at several concurrency limits against an endpoint with fixed latency.

    .venv/bin/python benchmarks/judge_fanout.py --requests 128 --latency 0.1

The endpoint is the loopback fake (`tests.support.fake_endpoint`) in its own process, answering
after `--latency` seconds, like a remote judge API. Sequential (concurrency 1) is the baseline, measured in
the same run; the goal is >= 20x at concurrency 32. No store is used, so every request is
really sent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from harness.core.records import Message
from judges.llm.backends import Budget, JudgeRequest, OpenAIBackend, RetryPolicy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=128)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    args = ap.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_endpoint", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        requests = [
            JudgeRequest((Message(role="user", content=f"judge item {i}"),), 4)
            for i in range(args.requests)
        ]
        rates: dict[int, float] = {}
        for c in args.concurrency:
            backend = OpenAIBackend(
                "fake", base_url=url, concurrency=c, retry=RetryPolicy(max_retries=0)
            )
            start = time.perf_counter()
            replies = backend.complete_many(requests, Budget(), lambda k, reply: None)
            secs = time.perf_counter() - start
            failed = sum(r.error is not None for r in replies)
            rates[c] = args.requests / secs
            print(
                f"concurrency {c:3d}: {args.requests} requests in {secs:6.2f} s = {rates[c]:7.1f} req/s, {failed} failed",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
    base = rates.get(1)
    if base:
        for c, r in rates.items():
            if c != 1:
                print(f"speed-up at concurrency {c}: {r / base:.1f}x over sequential")
    print(f"endpoint latency {args.latency * 1000:.0f} ms, {args.requests} requests per setting")


if __name__ == "__main__":
    main()
