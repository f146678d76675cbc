"""Generation engines: transformers (CPU/GPU), any OpenAI-compatible endpoint, vLLM, and stored outputs."""

from harness.engines import openai_engine, outputs_engine, transformers_engine, vllm_engine
from harness.engines.base import Engine, EngineConfig, create_engine

__all__ = [
    "Engine",
    "EngineConfig",
    "create_engine",
    "openai_engine",
    "outputs_engine",
    "transformers_engine",
    "vllm_engine",
]
