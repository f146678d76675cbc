"""End-to-end throughput of `harness run` (generate + score) and of a cached re-run.

    .venv/bin/python benchmarks/pipeline.py --items 24 --cached-items 1000

Part 1, on the embedded model (fp32, CPU): the quick suites through `run()` with the
default scorers (refusal, toxicity, diversity), in items/s, against the baseline of the
engine's bare `generate` on the same prompts in the same process (the run's overhead is the
ratio). Part 2: 1,000 HH-RLHF prompts answered by a loopback endpoint (instant, so that the
first run measures the harness, not a model), scored, then the same run again from the
results store: the re-run's time (goal < 2 s), in-process and as a `harness run` command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/support (the fake endpoint) is not installed
HH = ROOT.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-test.jsonl.gz"


def reply(messages: list[dict]) -> str:
    """A varied, plausible answer per prompt (diversity metrics get real work)."""
    text = messages[-1]["content"]
    words = text.split()
    return f"Here is what I think about '{' '.join(words[:6])}': " + " ".join(reversed(words))


def part1(items: int, max_new_tokens: int) -> None:
    from harness.core.records import GenerationParams
    from harness.engines.base import EngineConfig
    from harness.engines.transformers_engine import TransformersEngine
    from harness.jobs.run import RunConfig, apply_limit, run
    from suites import load_suites

    per_suite = max(1, items // 3)
    suites = apply_limit(load_suites(["quick"]), per_suite)
    chats = [s.chat() for suite in suites for s in suite.samples]
    params = GenerationParams(max_new_tokens=max_new_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        engine = TransformersEngine(EngineConfig(model="smollm2"))
        engine.encode(chats[:1])  # load once, outside the timings
        t = time.perf_counter()
        engine.generate(chats, params)
        bare = time.perf_counter() - t
        t = time.perf_counter()
        result = run(
            RunConfig(
                model="smollm2",
                suites=("quick",),
                out=Path(tmp) / "run",
                params=params,
                limit=per_suite,
                store=Path(tmp) / "store.sqlite",
            )
        )
        full = time.perf_counter() - t
    n = len(result.items)
    print(f"part 1: {n} items, quick suites, max_new_tokens {max_new_tokens}, default scorers")
    print(f"  bare engine.generate       {bare:7.1f} s = {n / bare:6.2f} items/s (baseline)")
    print(f"  harness run (gen + score)  {full:7.1f} s = {n / full:6.2f} items/s")
    print(f"  run / bare generation: {full / bare:.2f}x (model load and scorer loads included)")


def part2(items: int) -> None:
    from harness.core.records import GenerationParams
    from harness.jobs.run import RunConfig, run
    from tests.support.fake_endpoint import FakeEndpoint

    suite = f"hh-rlhf:{HH}"
    with tempfile.TemporaryDirectory() as tmp, FakeEndpoint(reply=reply) as ep:
        store = Path(tmp) / "store.sqlite"

        def config(out: str) -> RunConfig:
            return RunConfig(
                model="fake",
                suites=(suite,),
                out=Path(tmp) / out,
                engine="openai",
                engine_config={"base_url": ep.url, "concurrency": 32},
                params=GenerationParams(max_new_tokens=64),
                limit=items,
                store=store,
            )

        import os

        os.environ.setdefault("OPENAI_API_KEY", "benchmark")
        t = time.perf_counter()
        first = run(config("first"))
        cold = time.perf_counter() - t
        t = time.perf_counter()
        again = run(config("again"))
        warm = time.perf_counter() - t
        assert again.generated == 0 and again.cached == len(first.items)
        assert [m.model_dump() for m in again.metrics] == [m.model_dump() for m in first.metrics]
        cmd = [
            *(str(Path(sys.executable).with_name("harness")), "run", "--engine", "openai"),
            *("--base-url", ep.url, "--model", "fake", "--suite", suite),
            *("--limit", str(items), "--max-new-tokens", "64", "--store", str(store)),
            *("--out", str(Path(tmp) / "cli")),
        ]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        cli = time.perf_counter() - t
    n = len(first.items)
    print(f"part 2: {n} items from a loopback endpoint, default scorers")
    print(f"  first run (generate + score)    {cold:6.2f} s (baseline)")
    print(
        f"  re-run from the store, in-process {warm:5.2f} s = {cold / warm:.0f}x faster (goal < 2 s)"
    )
    print(
        f"  re-run as `harness run` command {cli:6.2f} s (interpreter start and imports included)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--cached-items", type=int, default=1000)
    ap.add_argument("--skip-model", action="store_true", help="only part 2")
    args = ap.parse_args()
    if not args.skip_model:
        part1(args.items, args.max_new_tokens)
    part2(args.cached_items)


if __name__ == "__main__":
    main()
