"""The vLLM engine's layers that need no GPU: parameter mapping, output conversion, errors."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.core.errors import MissingDependencyError, UserError
from harness.core.records import GenerationParams, Message
from harness.engines.base import EngineConfig
from harness.engines.factory import create_engine
from harness.engines.vllm_engine import VLLMEngine, sampling_kwargs, to_completions


def test_sampling_params_map_one_to_one() -> None:
    params = GenerationParams(temperature=0.7, top_p=0.9, max_new_tokens=64, seed=3, n=2)
    assert sampling_kwargs(params) == {
        "n": 2,
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 64,
        "seed": 3,
    }


def test_request_outputs_become_completions() -> None:
    outputs = [
        SimpleNamespace(
            prompt_token_ids=[1, 2, 3],
            outputs=[
                SimpleNamespace(text=" Paris.", token_ids=[5, 6, 2], finish_reason="stop"),
                SimpleNamespace(text="The capital", token_ids=[7, 8], finish_reason="length"),
            ],
        )
    ]
    [[a, b]] = to_completions(outputs)
    assert (a.text, a.prompt_tokens, a.completion_tokens, a.finish_reason) == (
        "Paris.",
        3,
        3,
        "stop",
    )
    assert (b.completion_tokens, b.finish_reason) == (2, "length")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_says_what_to_install(smollm2_dir) -> None:
    engine = VLLMEngine(EngineConfig(model=str(smollm2_dir)))
    assert engine.identity()["engine"] == "vllm"
    with pytest.raises(MissingDependencyError, match="needs the 'vllm' package"):
        engine.generate([[Message(role="user", content="hi")]], GenerationParams())


def write_adapter(folder: Path, **config: Any) -> str:
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return str(folder)


def test_an_adapter_is_served_by_vllms_lora_at_its_rank(tmp_path, smollm2_dir) -> None:
    """vLLM serves an adapter unmerged: LoRA enabled at the smallest rank it accepts that
    holds the adapter's, and the adapter in the engine's identity (so in the cache keys)."""
    for rank, served in ((8, 8), (12, 16), (1, 1), (300, 320)):
        path = write_adapter(tmp_path / f"r{rank}", r=rank, target_modules=["q_proj"])
        engine = create_engine("vllm", EngineConfig(model=str(smollm2_dir), adapter=path))
        assert isinstance(engine, VLLMEngine)
        assert engine.lora == {"enable_lora": True, "max_lora_rank": served, "max_loras": 1}
        assert engine.identity()["adapter"]["path"] == str(Path(path).resolve())
    plain = VLLMEngine(EngineConfig(model=str(smollm2_dir)))
    assert plain.lora == {} and "adapter" not in plain.identity()


def test_adapters_vllm_cannot_apply_are_refused_before_loading(tmp_path, smollm2_dir) -> None:
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("big", {"r": 1024}, "above vLLM's largest"),
        ("saved", {"r": 8, "modules_to_save": ["score"]}, "modules_to_save"),
    ]
    for name, config, message in refused:
        path = write_adapter(tmp_path / name, **config)
        with pytest.raises(UserError, match=message):
            create_engine("vllm", EngineConfig(model=str(smollm2_dir), adapter=path))
    path = write_adapter(tmp_path / "ok", r=8)
    with pytest.raises(UserError, match="needs --engine transformers or vllm"):
        create_engine("openai", EngineConfig(model="m", adapter=path))
