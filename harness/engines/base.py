"""The Engine protocol: chats in, completions out, with token counts.

An engine is built from an `EngineConfig` by a factory registered under kind "engine".
It must load its model lazily (on the first `generate`), so that a run served entirely
from the results store never loads a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from harness.core.errors import UserError
from harness.core.records import Completion, GenerationParams, Message
from harness.engines.openai_client import REQUEST_RETRIES, REQUEST_TIMEOUT


@dataclass(frozen=True)
class EngineConfig:
    """What every engine may be given; each engine uses the fields that apply to it."""

    model: str
    """Embedded name, local directory, hub id, or (openai engine) the endpoint's model name."""
    device: str = "cpu"
    """Torch device for local engines."""
    dtype: str = "float32"
    """Weights dtype for local engines (fp32 on CPU: bf16 is slower there and batch-unstable)."""
    batch_size: int = 16
    """Prompts per chunk handed to the engine; for the transformers engine, prompts per forward
    pass at 512 tokens each (shorter sequences pack more rows into the same token budget)."""
    max_batch_tokens: int | None = None
    """Token budget of one batch, rows x (longest prompt + max_new_tokens); None means
    `batch_size` x 512 (transformers engine)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint; None means the `openai` client's own default/env."""
    concurrency: int = 8
    """Requests in flight at once (openai engine)."""
    timeout: float = REQUEST_TIMEOUT
    """Seconds per request (openai engine; the openai client's own default)."""
    max_retries: int = REQUEST_RETRIES
    """Retries of 429/5xx/timeouts, with the client's exponential backoff (openai engine)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Engine-specific extras passed through (e.g. vLLM's tensor_parallel_size)."""
    adapter: str | None = None
    """A LoRA adapter directory applied on `model` without merging (transformers and vllm
    engines)."""


class PromptTooLongError(UserError):
    """A prompt does not fit the model's context together with max_new_tokens."""

    def __init__(self, index: int, prompt_tokens: int, max_new_tokens: int, context: int) -> None:
        self.index = index
        super().__init__(
            f"prompt has {prompt_tokens} tokens; with max_new_tokens={max_new_tokens} it exceeds "
            f"the model's context of {context} tokens"
        )


OnChat = Callable[[int, list[Completion]], None]
"""Called with a chat's index and its `params.n` completions once they are all there."""


class Engine(Protocol):
    """Generates completions for chats."""

    name: str
    """Registered engine name."""

    def identity(self) -> dict[str, Any]:
        """What determines the outputs (engine, model, fingerprint, dtype); stored and hashed
        into cache keys. Must be cheap (no model load) and must not contain secrets."""
        ...

    @property
    def chunk_size(self) -> int:
        """How many prompts the runner should hand over at once."""
        ...

    def generate(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        """`params.n` completions for each chat, in input order."""
        ...


class DecodeWatch(Protocol):
    """Looked at after every decode step of the transformers engine (for `harness serve`):
    which chats to stop now (their client left, or the server is stopping) and which want
    their reply text as it grows (streaming). Indices are the chats' positions in the call."""

    def stopped(self, index: int) -> bool:
        """Stop generating for this chat now (its completion is then discarded)."""
        ...

    def streams(self, index: int) -> bool:
        """This chat wants `text` after every step."""
        ...

    def text(self, index: int, text: str) -> None:
        """The chat's reply so far (called from the generating thread)."""
        ...


@runtime_checkable
class StreamingEngine(Engine, Protocol):
    """An engine whose completions arrive one by one (remote endpoints): the runner stores
    each chat's completions as they arrive, so a kill loses only requests in flight."""

    def generate_each(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams, on_chat: OnChat
    ) -> list[list[Completion]]:
        """As `generate`, calling `on_chat` in the caller's thread as each chat completes."""
        ...


@runtime_checkable
class ClosableEngine(Engine, Protocol):
    """An engine whose loaded model can be freed before the process ends, so that a job using
    several models in turn (`harness compare`) holds one at a time: on a GPU a second vLLM
    model loaded beside the first finds its memory taken."""

    def close(self) -> None:
        """Free the loaded model now (a later `generate` loads it again)."""
        ...


def release(engine: Engine) -> None:
    """Free `engine`'s model now if it holds one that can be freed."""
    if isinstance(engine, ClosableEngine):
        engine.close()
