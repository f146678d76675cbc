"""The vLLM engine's layers that need no GPU: parameter mapping, output conversion, errors."""

import importlib.util
from types import SimpleNamespace

import pytest

from harness.core.errors import MissingDependencyError
from harness.core.records import GenerationParams, Message
from harness.engines.base import EngineConfig
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
