"""`harness serve`: an OpenAI-compatible endpoint over the local transformers engine.

    harness serve --model smollm2 --port 8011

`/v1/models` and `/v1/chat/completions`: `logprobs`/`top_logprobs` give the first reply
token's top log-probabilities, and `stream: true` sends server-sent events as the official
`openai` client expects, a chunk per decode step (with `stream_options.include_usage`, a
last chunk with token counts). A local model can so be a judge or a target through the same
HTTP path as a real endpoint. Binds to 127.0.0.1 unless told otherwise.

Concurrent requests with the same sampling parameters are batched together. The engine is
asked after every decode step whether a request's client is still there: a client that
disconnects stops costing compute at the next step (the rest of its batch decodes on).
`Batcher.stop()` (SIGTERM) ends the running batch at its next step and answers everything
queued with 503. Requests past `max_pending` get 429 with Retry-After; bodies over
`max_body_bytes` get 413; malformed requests get 400 naming the field and never take the
server down. `/v1/completions` (raw text continuation) is not served: the engine works on
chat templates.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.core.records import Completion, GenerationParams, Message


class ChatMessage(BaseModel):
    """An OpenAI chat message (text content only)."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str


class StreamOptions(BaseModel):
    """OpenAI's `stream_options`: `include_usage` adds a last chunk with token counts."""

    model_config = ConfigDict(extra="ignore", strict=True)
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The subset of the OpenAI chat-completions request this server honours."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    n: int = Field(default=1, ge=1, le=16)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None

    @field_validator("stop")
    @classmethod
    def _no_stop_sequences(cls, value: str | list[str] | None) -> None:
        if value:
            raise ValueError("stop sequences are not supported by harness serve")
        return None


class ServerStopping(Exception):
    """The server is shutting down: queued and running requests end with 503."""


@dataclass
class _Job:
    chat: list[Message]
    params: GenerationParams
    top_logprobs: int
    future: asyncio.Future[tuple[list[Completion], dict[str, float] | None]]
    stream: asyncio.Queue[str] | None = None
    """Reply text so far, after every decode step (stream: true)."""
    gone: bool = False
    """The client disconnected: stop generating for it at the next decode step."""


@dataclass
class _Watch:
    """What the engine asks after every decode step of one batch (see DecodeWatch)."""

    jobs: list[_Job]
    batcher: Batcher
    loop: asyncio.AbstractEventLoop

    def stopped(self, index: int) -> bool:
        return self.batcher.stopping or self.jobs[index].gone

    def streams(self, index: int) -> bool:
        return self.jobs[index].stream is not None

    def text(self, index: int, text: str) -> None:
        queue = self.jobs[index].stream
        if queue is not None:
            self.loop.call_soon_threadsafe(queue.put_nowait, text)


@dataclass
class Batcher:
    """Collects concurrent requests for a moment and runs them as one engine batch; stops
    generating for clients that left, and for everyone when the server stops."""

    engine: Any
    max_batch: int = 16
    wait_seconds: float = 0.01
    queue: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    stopping: bool = False
    """Set by `stop()` (SIGTERM): running batches end at their next decode step."""
    stopped: int = 0
    """Requests whose client left while they decoded (decoding stopped there)."""
    last_stopped_tokens: int = 0
    """Tokens the last of those had decoded when it was stopped."""

    async def submit(self, job: _Job) -> tuple[list[Completion], dict[str, float] | None]:
        if self.stopping:
            raise ServerStopping
        await self.queue.put(job)
        return await job.future

    def stop(self) -> None:
        """Stop: the running batch ends at its next decode step, queued requests get 503.
        Safe to call from a signal handler."""
        self.stopping = True

    async def _next_jobs(self) -> list[_Job]:
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
        return jobs

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._next_jobs()
            live = []
            for job in jobs:
                if self.stopping:
                    _fail(job, ServerStopping())
                elif job.gone:
                    _fail(job, ConnectionAbortedError("the client left"))
                else:
                    live.append(job)
            groups: dict[GenerationParams, list[_Job]] = {}
            for job in live:
                groups.setdefault(job.params, []).append(job)
            for params, group in groups.items():
                if self.stopping:
                    for j in group:
                        _fail(j, ServerStopping())
                    continue
                k = max(j.top_logprobs for j in group)
                watch = _Watch(group, self, loop)
                try:
                    outs = await asyncio.to_thread(
                        self.engine.generate, [j.chat for j in group], params, k, watch
                    )
                except Exception as e:  # noqa: BLE001 - one bad batch must not kill the server
                    for j in group:
                        _fail(j, e)
                    continue
                for j, out in zip(group, outs, strict=True):
                    if self.stopping:
                        _fail(j, ServerStopping())
                    elif j.gone:
                        self.stopped += 1
                        self.last_stopped_tokens = out[0].completion_tokens
                        _fail(j, ConnectionAbortedError("the client left"))
                    elif not j.future.done():
                        j.future.set_result((out, _top(out[0], j.top_logprobs)))


def _fail(job: _Job, error: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(error)


def _top(completion: Completion, k: int) -> dict[str, float] | None:
    """The k most likely first tokens (one forward pass serves the batch: top-k is the
    largest any request in it asked for)."""
    if not k or not completion.top_logprobs:
        return None
    return dict(sorted(completion.top_logprobs.items(), key=lambda kv: -kv[1])[:k])


async def _watch_client(request: Request, job: _Job) -> None:
    """Mark the job gone when its client disconnects (polled until the reply is ready)."""
    while not job.future.done():
        if await request.is_disconnected():
            job.gone = True
            return
        await asyncio.sleep(0.2)


def _error(
    status: int, message: str, param: str | None = None, headers: dict[str, str] | None = None
) -> Any:
    """An OpenAI-shaped error reply; `param` names the offending field."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid(error: ValidationError) -> Any:
    """A 400 naming the first invalid field of a request body."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return _error(400, f"invalid request: the body is not valid JSON ({first['msg']})")
    where = ".".join(str(p) for p in first["loc"])
    field_name = f"field '{where}'" if where else "the body"
    return _error(400, f"invalid request: {field_name}: {first['msg']}", where or None)


DEFAULT_MAX_TOKENS = 256
"""Tokens a request that names no `max_tokens` may decode (`--default-max-tokens`)."""


def _params(req: ChatRequest, default_max_tokens: int) -> GenerationParams:
    return GenerationParams(
        temperature=req.temperature,
        top_p=req.top_p,
        max_new_tokens=req.max_completion_tokens or req.max_tokens or default_max_tokens,
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
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def _unsupported(req: ChatRequest, served_name: str) -> Any | None:
    """The error for a request this server does not take, or None."""
    if req.stream and req.n > 1:
        return _error(400, "field 'n': stream: true takes n = 1 only", param="n")
    if req.stream and req.logprobs:
        return _error(400, "field 'logprobs': not supported with stream: true", param="logprobs")
    if req.model != served_name:
        return _error(404, f"model '{req.model}' is not served here (serving '{served_name}')")
    if req.messages[-1].role != "user":
        return _error(400, "field 'messages': the last message must be a user turn", "messages")
    return None


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's `usage` block."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _chunk(
    reply_id: str,
    served_name: str,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
) -> str:
    """One server-sent event of a streamed chat completion: a delta of the one choice, or
    (`delta` None) the closing chunk that carries only `usage`, as OpenAI sends it."""
    body: dict[str, Any] = {
        "id": reply_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": served_name,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _stable(text: str) -> str:
    """The part of a partial reply that later steps will not change: without a trailing
    half-decoded character or whitespace (the final reply is stripped)."""
    return text.rstrip("\ufffd").strip()


async def _stream(
    request: Request, job: _Job, batcher: Batcher, served_name: str, usage: bool
) -> AsyncIterator[str]:
    """The reply as server-sent events, a chunk per decode step that adds text; the
    generation stops when the client leaves."""
    assert job.stream is not None
    reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    watcher = asyncio.create_task(_watch_client(request, job))
    result = asyncio.ensure_future(batcher.submit(job))
    sent = ""
    try:
        yield _chunk(reply_id, served_name, {"role": "assistant", "content": ""})
        while not result.done():
            getter = asyncio.ensure_future(job.stream.get())
            await asyncio.wait({getter, result}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                continue
            text = _stable(getter.result())
            if text.startswith(sent) and len(text) > len(sent):
                yield _chunk(reply_id, served_name, {"content": text[len(sent) :]})
                sent = text
        try:
            completions, _ = result.result()
        except ServerStopping:
            yield f"data: {json.dumps({'error': {'message': 'the server is stopping'}})}\n\n"
            return
        final = completions[0]
        rest = final.text[len(sent) :] if final.text.startswith(sent) else ""
        if rest:
            yield _chunk(reply_id, served_name, {"content": rest})
        yield _chunk(reply_id, served_name, {}, final.finish_reason)
        if usage:
            tokens = _usage(final.prompt_tokens, final.completion_tokens)
            yield _chunk(reply_id, served_name, None, usage=tokens)
        yield "data: [DONE]\n\n"
    finally:  # the client left (the response was cancelled) or the reply is complete
        if not result.done():
            job.gone = True
            # Nobody awaits the reply now: take its end here (the "client left" error),
            # or asyncio logs "Task exception was never retrieved".
            result.add_done_callback(_retrieve)
        watcher.cancel()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def build_app(
    engine: Any,
    served_name: str,
    *,
    max_batch: int = 16,
    max_pending: int = 64,
    max_body_bytes: int = 1_000_000,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Any:
    """The FastAPI application; `app.state.batcher` is its Batcher (stop it on SIGTERM)."""
    batcher = Batcher(engine, max_batch=max_batch)
    state = {"pending": 0}

    async def lifespan(app: Any) -> Any:
        task = asyncio.create_task(batcher.run())
        yield
        batcher.stop()
        task.cancel()

    app = FastAPI(title="alignment-harness serve", lifespan=lifespan)
    app.state.batcher = batcher

    app.add_middleware(_BodyLimit, max_body_bytes=max_body_bytes)

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
        except ValidationError as e:
            return _invalid(e)
        rejected = _unsupported(req, served_name)
        if rejected is not None:
            return rejected
        if batcher.stopping:
            return _error(503, "the server is stopping")
        if state["pending"] >= max_pending:
            return _error(429, "too many requests in flight", headers={"Retry-After": "1"})
        chat_msgs = [Message(role=m.role, content=m.content) for m in req.messages]
        k = (req.top_logprobs or 1) if req.logprobs else 0
        loop = asyncio.get_running_loop()
        job = _Job(chat_msgs, _params(req, default_max_tokens), k, loop.create_future())
        if req.stream:
            job.stream = asyncio.Queue()
            usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(
                _counted(state, _stream(request, job, batcher, served_name, usage)),
                media_type="text/event-stream",
            )
        state["pending"] += 1
        watcher = asyncio.create_task(_watch_client(request, job))
        try:
            completions, top = await batcher.submit(job)
        except ServerStopping:
            return _error(503, "the server is stopping")
        except ConnectionAbortedError:
            return _error(499, "the client left")
        except Exception as e:  # noqa: BLE001 - reported to the client, the server goes on
            return _error(400 if "context" in str(e) else 500, str(e))
        finally:
            state["pending"] -= 1
            watcher.cancel()
        return _completion_reply(served_name, completions, top)

    return app


class _BodyLimit:
    """413 for a declared body over the limit, before it is read. A plain ASGI middleware:
    Starlette's BaseHTTPMiddleware would hide client disconnects from the handlers."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                reply = _error(413, f"request body over {self.max_body_bytes} bytes")
                await reply(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _counted(state: dict[str, int], events: AsyncIterator[str]) -> AsyncIterator[str]:
    """A stream that counts as pending while it runs (the 429 bound covers streams too)."""
    state["pending"] += 1
    try:
        async for event in events:
            yield event
    finally:
        state["pending"] -= 1
