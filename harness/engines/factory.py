"""Building an engine by its registered name; importing this module registers the built-ins."""

from __future__ import annotations

from harness.core.registry import lookup
from harness.engines import openai_engine, outputs_engine, transformers_engine, vllm_engine
from harness.engines.base import Engine, EngineConfig

BUILTIN = (openai_engine, outputs_engine, transformers_engine, vllm_engine)
"""The modules whose import registers the built-in engines."""
ADAPTER_ENGINES = ("transformers", "vllm")
"""Engines that apply a LoRA adapter on the base model unmerged."""


def create_engine(name: str, config: EngineConfig) -> Engine:
    """Build the engine registered as `name`."""
    if config.adapter is not None and name not in ADAPTER_ENGINES:
        from harness.core.errors import UserError

        raise UserError(
            f"--adapter needs --engine {' or '.join(ADAPTER_ENGINES)} (the {name} engine does "
            "not load LoRA adapters; an OpenAI-compatible server names its adapters as models)"
        )
    engine: Engine = lookup("engine", name)(config)
    return engine
