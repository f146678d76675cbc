"""Generation engines: transformers (CPU/GPU), any OpenAI-compatible endpoint, vLLM, and stored outputs."""

from harness.engines.base import Engine, EngineConfig
from harness.engines.factory import create_engine

__all__ = ["Engine", "EngineConfig", "create_engine"]
