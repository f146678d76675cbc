"""`harness serve`: an OpenAI-compatible endpoint over the local transformers engine.

    harness serve --model smollm2 --port 8011

`/v1/models` and `/v1/chat/completions` (non-streaming; `logprobs`/`top_logprobs` give the
first reply token's top log-probabilities), so a local model can be a judge or a target
through the same HTTP path as a real endpoint. Binds to 127.0.0.1 unless told otherwise.
Concurrent requests with the same sampling parameters are batched together; requests
past `max_pending` get 429 with Retry-After; bodies over `max_body_bytes` get 413;
malformed requests get 400/422 and never take the server down.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.core.records import Completion, GenerationParams, Message


class ChatMessage(BaseModel):
    """An OpenAI chat message (text content only)."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """The subset of the OpenAI chat-completions request this server honours."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=16)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    stream: bool = False
    stop: str | list[str] | None = None

    @field_validator("stop")
    @classmethod
    def _no_stop_sequences(cls, value: str | list[str] | None) -> None:
        if value:
            raise ValueError("stop sequences are not supported by harness serve")
        return None


@dataclass
class _Job:
    chat: list[Message]
    params: GenerationParams
    top_logprobs: int
    future: asyncio.Future[tuple[list[Completion], dict[str, float] | None]]


@dataclass
class Batcher:
    """Collects concurrent requests for a moment and runs them as one engine batch."""

    engine: Any
    max_batch: int = 16
    wait_seconds: float = 0.01
    queue: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)

    async def submit(
        self, chat: list[Message], params: GenerationParams, top_logprobs: int
    ) -> tuple[list[Completion], dict[str, float] | None]:
        future: asyncio.Future[tuple[list[Completion], dict[str, float] | None]] = (
            asyncio.get_running_loop().create_future()
        )
        await self.queue.put(_Job(chat, params, top_logprobs, future))
        return await future

    async def run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            deadline = time.monotonic() + self.wait_seconds
            while len(jobs) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    jobs.append(await asyncio.wait_for(self.queue.get(), timeout))
                except TimeoutError:
                    break
            groups: dict[GenerationParams, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.params, []).append(job)
            for params, group in groups.items():
                k = max(j.top_logprobs for j in group)
                try:
                    outs = await asyncio.to_thread(
                        self.engine.generate, [j.chat for j in group], params, k
                    )
                except Exception as e:  # noqa: BLE001 - one bad batch must not kill the server
                    for j in group:
                        if not j.future.done():
                            j.future.set_exception(e)
                    continue
                for j, out in zip(group, outs, strict=True):
                    if not j.future.done():
                        # One forward pass serves both: top-k is the largest asked in the batch.
                        top = (
                            dict(
                                sorted(out[0].top_logprobs.items(), key=lambda kv: -kv[1])[
                                    : j.top_logprobs
                                ]
                            )
                            if j.top_logprobs and out[0].top_logprobs
                            else None
                        )
                        j.future.set_result((out, top))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    """An OpenAI-shaped error reply."""
    body = {"error": {"message": message, "type": "invalid_request_error", "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def _params(req: ChatRequest) -> GenerationParams:
    return GenerationParams(
        temperature=req.temperature,
        top_p=req.top_p,
        max_new_tokens=req.max_completion_tokens or req.max_tokens or 256,
        seed=req.seed or 0,
        n=req.n,
    )


def _logprobs(top: dict[str, float]) -> dict[str, Any]:
    """The first reply token's top log-probabilities, as OpenAI's `logprobs.content` gives them."""
    best = max(top, key=lambda t: top[t])
    return {
        "content": [
            {
                "token": best,
                "logprob": top[best],
                "bytes": list(best.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode())}
                    for t, lp in sorted(top.items(), key=lambda kv: -kv[1])
                ],
            }
        ]
    }


def _completion_reply(
    served_name: str, completions: Sequence[Completion], top: dict[str, float] | None
) -> dict[str, Any]:
    """The body of a chat-completion reply."""
    choices = []
    for i, c in enumerate(completions):
        choice: dict[str, Any] = {
            "index": i,
            "message": {"role": "assistant", "content": c.text},
            "finish_reason": c.finish_reason,
        }
        if top is not None:
            choice["logprobs"] = _logprobs(top)
        choices.append(choice)
    prompt_tokens = completions[0].prompt_tokens if completions else 0
    completion_tokens = sum(c.completion_tokens for c in completions)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": served_name,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _unsupported(req: ChatRequest, served_name: str) -> Any | None:
    """The error for a request this server does not take, or None."""
    if req.stream:
        return _error(400, "streaming is not supported")
    if req.model != served_name:
        return _error(404, f"model '{req.model}' is not served here (serving '{served_name}')")
    if req.messages[-1].role != "user":
        return _error(400, "the last message must be a user turn")
    return None


def build_app(
    engine: Any,
    served_name: str,
    *,
    max_batch: int = 16,
    max_pending: int = 64,
    max_body_bytes: int = 1_000_000,
) -> Any:
    """The FastAPI application."""
    batcher = Batcher(engine, max_batch=max_batch)
    state = {"pending": 0}

    async def lifespan(app: Any) -> Any:
        task = asyncio.create_task(batcher.run())
        yield
        task.cancel()

    app = FastAPI(title="alignment-harness serve", lifespan=lifespan)

    @app.middleware("http")
    async def limits(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return _error(413, f"request body over {max_body_bytes} bytes")
        return await call_next(request)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": served_name, "object": "model", "owned_by": "alignment-harness"}],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.body()
        if len(body) > max_body_bytes:
            return _error(413, f"request body over {max_body_bytes} bytes")
        try:
            req = ChatRequest.model_validate_json(body)
        except ValueError as e:
            return _error(400, f"invalid request: {str(e).splitlines()[0]}")
        rejected = _unsupported(req, served_name)
        if rejected is not None:
            return rejected
        if state["pending"] >= max_pending:
            return _error(429, "too many requests in flight", {"Retry-After": "1"})
        chat_msgs = [Message(role=m.role, content=m.content) for m in req.messages]
        k = (req.top_logprobs or 1) if req.logprobs else 0
        state["pending"] += 1
        try:
            completions, top = await batcher.submit(chat_msgs, _params(req), k)
        except Exception as e:  # noqa: BLE001 - reported to the client, the server goes on
            return _error(400 if "context" in str(e) else 500, str(e))
        finally:
            state["pending"] -= 1
        return _completion_reply(served_name, completions, top)

    return app
