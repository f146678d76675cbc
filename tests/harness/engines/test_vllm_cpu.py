"""The vLLM engine for real, on this CPU through the `vllm-cpu` build (`make pytest-vllm`):
offline `vllm.LLM` generation through `harness run`, and through `harness compare` of the
model and the model with a LoRA adapter applied unmerged, and `vllm serve` as an
OpenAI-compatible endpoint for the openai engine and as a judge. Greedy outputs equal the
transformers engine's. The same engine code runs the
official CUDA `vllm` on a GPU."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.core.records import GenerationParams
from harness.engines.base import EngineConfig
from harness.engines.transformers_engine import TransformersEngine
from suites import load_suites

pytestmark = [pytest.mark.vllm, pytest.mark.model, pytest.mark.slow]
runner = CliRunner()
SUITE = ["--suite", "harmful-smoke", "--suite", "helpful-smoke", "--limit", "3"]


@pytest.fixture(autouse=True)
def vllm_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vllm")
    monkeypatch.setenv("VLLM_CACHE_ROOT", str(tmp_path / "vllm-cache"))
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")


def transformers_answers(
    model: Path, max_new_tokens: int, adapter: Path | None = None
) -> list[str]:
    samples = [
        s for suite in load_suites(["harmful-smoke", "helpful-smoke"]) for s in suite.samples[:3]
    ]
    engine = TransformersEngine(
        EngineConfig(model=str(model), adapter=None if adapter is None else str(adapter))
    )
    outs = engine.generate(
        [s.chat() for s in samples], GenerationParams(max_new_tokens=max_new_tokens)
    )
    return [o[0].text for o in outs]


def run_answers(run_dir: Path) -> list[str]:
    rows = [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines()]
    return [r["completion"] for r in rows]


def test_offline_vllm_run_matches_transformers(tmp_path: Path, smollm2_dir: Path) -> None:
    out = tmp_path / "run"
    args = [
        *("run", "--engine", "vllm", "--model", str(smollm2_dir), *SUITE),
        *("--max-new-tokens", "24", "--scorers", "refusal-rules", "--out", str(out)),
        *("--engine-option", "max_model_len=2048"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["manifest"]["engine"]["engine"] == "vllm"
    assert "vllm-cpu" in summary["manifest"]["versions"]
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert all(r["completion_tokens"] > 0 and r["prompt_tokens"] > 0 for r in rows)
    assert run_answers(out) == transformers_answers(smollm2_dir, 24)


@pytest.fixture
def random_adapter(tmp_path: Path, smollm2_dir: Path) -> Path:
    """A LoRA adapter on the embedded model whose B factors are random, not peft's zeros, so
    applying it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    peft_model = get_peft_model(model, lora)
    with torch.no_grad():
        for name, weight in peft_model.named_parameters():
            if "lora_B" in name:
                weight.normal_(0.0, 0.02)
    path = tmp_path / "adapter"
    peft_model.save_pretrained(str(path))
    return path


def test_vllm_compare_holds_one_model_at_a_time(
    tmp_path: Path, smollm2_dir: Path, random_adapter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harness compare --engine vllm` of a model and the model with an adapter: the first
    engine is shut down (its engine-core process gone) before the second loads, as one GPU
    needs, and each contestant's answers equal the transformers engine's: vLLM's own LoRA
    applies the adapter as peft does (the adapter's B factors are random, so it changes the
    answers)."""
    import multiprocessing

    from harness.engines.factory import create_engine as real_create
    from tests.support.fake_endpoint import FakeEndpoint

    made: list[Any] = []

    def create_engine(kind: str, config: EngineConfig) -> Any:
        assert all(e._llm is None for e in made), "an earlier vLLM model is still loaded"
        assert not multiprocessing.active_children(), "an engine-core process is still running"
        made.append(real_create(kind, config))
        return made[-1]

    monkeypatch.setattr("harness.jobs.compare.create_engine", create_engine)
    out = tmp_path / "cmp"
    with FakeEndpoint(reply=lambda messages: "[[A]]") as judge:
        args = [
            *("compare", "--engine", "vllm", "--model", f"base={smollm2_dir}"),
            *("--adapter", f"tuned={random_adapter}", "--baseline", "base", *SUITE),
            *("--max-new-tokens", "24", "--judge", "openai:judge", "--judge-base-url", judge.url),
            *("--scorers", "none", "--bootstrap", "100", "--out", str(out)),
            *("--engine-option", "max_model_len=2048"),
        ]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(made) == 2 and all(e._llm is None for e in made)
    assert not multiprocessing.active_children()
    judged = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    base, tuned = [j["response_a"] for j in judged], [j["response_b"] for j in judged]
    assert base == transformers_answers(smollm2_dir, 24)
    assert tuned == transformers_answers(smollm2_dir, 24, random_adapter)
    assert tuned != base  # the adapter was applied


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def vllm_server(smollm2_dir: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "vllm.entrypoints.openai.api_server"),
            *("--model", str(smollm2_dir), "--served-model-name", "smollm2"),
            *("--host", "127.0.0.1", "--port", str(port), "--dtype", "float32"),
            *("--enforce-eager", "--max-model-len", "2048"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                pytest.fail("vllm serve did not become ready in 300 s")
            time.sleep(2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_vllm_serve_as_engine_and_judge(
    tmp_path: Path, smollm2_dir: Path, vllm_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "not-needed-by-vllm")
    out = tmp_path / "served"
    args = [
        *("run", "--engine", "openai", "--base-url", vllm_server, "--model", "smollm2", *SUITE),
        *("--max-new-tokens", "24", "--scorers", "refusal-rules", "--out", str(out)),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert run_answers(out) == transformers_answers(smollm2_dir, 24)

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"id": str(i), "prompt": p, "response_a": a, "response_b": b}) + "\n"
            for i, (p, a, b) in enumerate(
                [
                    ("What is 2+2?", "4", "5"),
                    ("Capital of France?", "Paris.", "Berlin is the capital of France."),
                ]
            )
        )
    )
    judged = tmp_path / "judged.jsonl"
    args = [
        *("judge", "pairwise", "--input", str(pairs), "--output", str(judged)),
        *("--judge", "openai:smollm2", "--judge-base-url", vllm_server),
        *("--template", "pairwise-logprob-v1"),
        # This checks that vLLM's log-probabilities are read, not the 135M judge, whose A/B
        # tokens carry a few percent of the mass: accept any mass.
        *("--min-verdict-mass", "0"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in judged.read_text().splitlines()]
    assert len(records) == 2
    orders = [o for r in records for o in r["orders"]]
    assert len(orders) == 4 and all(o["weighted"] for o in orders)  # vLLM's logprobs were read
    assert all(0.0 < o["verdict_mass"] <= 1.0 for o in orders)
    assert all(0.0 <= o["preference"] <= 1.0 for o in orders)
