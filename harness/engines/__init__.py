"""Generation engines: transformers (CPU/GPU), any OpenAI-compatible endpoint, and vLLM."""

from harness.engines import openai_engine, transformers_engine, vllm_engine
from harness.engines.base import Engine, EngineConfig, create_engine

__all__ = [
    "Engine",
    "EngineConfig",
    "create_engine",
    "openai_engine",
    "transformers_engine",
    "vllm_engine",
]
