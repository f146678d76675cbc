"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM's server, `harness serve`, ...).

`--model` is the name sent to the endpoint. The `openai` client reads `OPENAI_BASE_URL` and
`OPENAI_API_KEY` itself; the key is never stored, logged or put into an identity.
Requests run concurrently; the client retries 429/5xx/timeouts with backoff. A request
that still fails becomes a completion with finish_reason 'error' and its reason, which the
runner records as failed (and does not cache), so a re-run tries it again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from harness.core.errors import UserError
from harness.core.records import Completion, GenerationParams, Message
from harness.core.registry import register
from harness.engines.base import EngineConfig, OnChat
from harness.engines.openai_client import make_client, redact


class OpenAIEngine:
    """Chat completions over HTTP, one request per completion, `concurrency` at a time."""

    name = "openai"

    def __init__(self, config: EngineConfig) -> None:
        if config.concurrency < 1:
            raise UserError("concurrency must be at least 1")
        self.config = config
        self.base_url = config.base_url or os.environ.get("OPENAI_BASE_URL")
        self._client: Any = None

    def identity(self) -> dict[str, Any]:
        return {"engine": self.name, "model": self.config.model, "base_url": self.base_url}

    @property
    def chunk_size(self) -> int:
        return max(self.config.concurrency * 4, self.config.batch_size)

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                self.base_url,
                timeout=self.config.timeout,
                max_retries=self.config.max_retries,
                purpose="the openai engine",
            )
        return self._client

    def _one(self, chat: Sequence[Message], params: GenerationParams, index: int) -> Completion:
        import openai

        client = self._get_client()
        try:
            resp = client.chat.completions.create(
                model=self.config.model,
                messages=[m.model_dump() for m in chat],
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                seed=params.seed + index,
                n=1,
            )
            choice = resp.choices[0]
            text = choice.message.content or ""
            usage = resp.usage
        except (openai.APIError, AttributeError, IndexError, TypeError, ValueError) as e:
            return Completion("", 0, 0, "error", error=f"{type(e).__name__}: {redact(str(e))}")
        return Completion(
            text=text.strip(),  # as the local engines do: an answer's edges are not its content
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            finish_reason="length" if choice.finish_reason == "length" else "stop",
        )

    def generate(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[list[Completion]]:
        return self.generate_each(chats, params, lambda i, completions: None)

    def generate_each(
        self, chats: Sequence[Sequence[Message]], params: GenerationParams, on_chat: OnChat
    ) -> list[list[Completion]]:
        """All completions, handing each chat's to `on_chat` (in this thread) as it completes.

        A request is sent only when an earlier one has been handed over, so at most
        `concurrency` answers are ever outside `on_chat`'s reach: a kill loses no more than
        the requests in flight, however slowly `on_chat` stores what arrived.
        """
        self._get_client()
        results: list[list[Completion | None]] = [[None] * params.n for _ in chats]
        left = [params.n] * len(chats)
        tasks = iter([(i, k) for i in range(len(chats)) for k in range(params.n)])
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            running: dict[Future[Completion], tuple[int, int]] = {}

            def send_next() -> None:
                task = next(tasks, None)
                if task is not None:
                    running[pool.submit(self._one, chats[task[0]], params, task[1])] = task

            for _ in range(self.config.concurrency):
                send_next()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    i, k = running.pop(future)
                    results[i][k] = future.result()
                    left[i] -= 1
                    if left[i] == 0:
                        on_chat(i, [c for c in results[i] if c is not None])
                    send_next()
        return [[c for c in chat if c is not None] for chat in results]


@register("engine", "openai")
def openai_engine(config: EngineConfig) -> OpenAIEngine:
    """Generation through an OpenAI-compatible endpoint."""
    return OpenAIEngine(config)
