"""Building an engine by its registered name; importing this module registers the built-ins."""

from __future__ import annotations

from harness.core.registry import lookup
from harness.engines import openai_engine, outputs_engine, transformers_engine, vllm_engine
from harness.engines.base import Engine, EngineConfig

BUILTIN = (openai_engine, outputs_engine, transformers_engine, vllm_engine)
"""The modules whose import registers the built-in engines."""


def create_engine(name: str, config: EngineConfig) -> Engine:
    """Build the engine registered as `name`."""
    if config.adapter is not None and name != "transformers":
        from harness.core.errors import UserError

        raise UserError(
            f"--adapter needs --engine transformers (the {name} engine does not load LoRA "
            "adapters here)"
        )
    engine: Engine = lookup("engine", name)(config)
    return engine
