"""Where judge requests go: an OpenAI-compatible endpoint (async fan-out with retries and a
budget) or a local model on the harness's own engine.

Spec strings: `openai:MODEL` (endpoint from `--judge-base-url` or OPENAI_BASE_URL, key from
OPENAI_API_KEY) and `local:MODEL` (any `--model` the transformers engine takes, e.g.
`local:smollm2`). Every request ends in a `JudgeReply`; a failure is a reply with an error
and its reason, never an exception and never a made-up verdict.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.core.errors import UserError
from harness.core.records import GenerationParams, Message
from harness.engines.base import EngineConfig
from harness.engines.factory import create_engine
from harness.engines.openai_client import make_client, redact
from judges.llm.concurrency import AdaptiveLimit


@dataclass(frozen=True)
class JudgeRequest:
    """One call to a judge model."""

    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 0.0
    logprobs: bool = False
    seed: int | None = None
    """Sampling seed; distinct seeds make repeated judgments distinct cache entries."""

    def key_parts(self) -> dict[str, Any]:
        """What identifies this request's answer (hashed into the cache key)."""
        parts: dict[str, Any] = {
            "messages": [m.model_dump() for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "logprobs": self.logprobs,
        }
        if self.seed is not None:
            parts["seed"] = self.seed
        return parts


@dataclass(frozen=True)
class JudgeReply:
    """What came back: text (and first-token top log-probs, when asked and given), or an error."""

    text: str | None
    top_logprobs: dict[str, float] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    attempts: int = 1
    error: str | None = None
    served: dict[str, str] | None = None
    """What the endpoint said answered: the reply's `model` and, when given,
    `system_fingerprint` (a local model: its weights' fingerprint)."""


@dataclass
class Budget:
    """A per-run cap on requests and tokens; requests past it fail with 'budget exhausted'."""

    max_requests: int | None = None
    max_tokens: int | None = None
    requests: int = 0
    tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """A panel's members share one budget from their own threads."""

    def take(self) -> str | None:
        """Reserve one request; the reason it cannot be made, or None."""
        with self._lock:
            if self.max_requests is not None and self.requests >= self.max_requests:
                return f"budget exhausted (max_requests={self.max_requests})"
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                return f"budget exhausted (max_tokens={self.max_tokens})"
            self.requests += 1
            return None

    def spend(self, tokens: int) -> None:
        """Count an answered request's tokens."""
        with self._lock:
            self.tokens += tokens


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter on 429, 5xx, timeouts and dropped connections."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


TOP_LOGPROBS = 20
"""Log-probabilities asked for with each logprob judgment: the most the OpenAI API gives, so a
verdict token the judge puts far below its first choice still weighs in (a position-biased
small judge often ranks the second slot's letter below fifth)."""


OnReply = Callable[[int, JudgeReply], None]
"""Called with a request's index and its reply the moment the reply arrives."""


class JudgeBackend(Protocol):
    """Answers judge requests."""

    def identity(self) -> dict[str, Any]:
        """Which model answers (no secrets); part of every judgment's cache key."""
        ...

    def settings(self) -> dict[str, Any]:
        """The effective client settings (timeout, retries, concurrency reached), for reports."""
        ...

    def complete_many(
        self, requests: Sequence[JudgeRequest], budget: Budget, on_reply: OnReply
    ) -> list[JudgeReply]:
        """One reply per request, in order; `on_reply(index, reply)` as each one arrives, so
        the caller can keep it before the rest are done."""
        ...


def _retry_after(error: Any) -> float | None:
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend:
    """Async fan-out to an OpenAI-compatible endpoint with a concurrency limit."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
    ) -> None:
        if concurrency < 1:
            raise UserError("judge concurrency must be at least 1")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.limit = AdaptiveLimit(concurrency)

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "top_logprobs": TOP_LOGPROBS,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "timeout": self.retry.timeout,
            "max_retries": self.retry.max_retries,
            "concurrency": self.concurrency,
            "concurrency_lowest": self.limit.lowest,
            "concurrency_cuts": self.limit.cuts,
        }

    def _client(self) -> Any:
        return make_client(
            self.base_url,
            timeout=self.retry.timeout,
            max_retries=0,  # retries are ours: counted, budgeted, jittered
            purpose="an openai: judge",
            asynchronous=True,
        )

    async def _send(self, client: Any, req: JudgeRequest) -> tuple[Any, Any, str]:
        """One chat-completion request: (response, first choice, reply text); a reply without
        text raises ValueError (a malformed reply, retried)."""
        kwargs: dict[str, Any] = {}
        if req.logprobs:
            kwargs.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        if req.seed is not None:
            kwargs["seed"] = req.seed
        resp = await client.chat.completions.create(
            model=self.model,
            messages=[m.model_dump() for m in req.messages],
            max_tokens=req.max_tokens,
            temperature=req.temperature,
            **kwargs,
        )
        choice = resp.choices[0]
        text = choice.message.content
        if not isinstance(text, str):
            raise ValueError("the reply has no message content")
        return resp, choice, text

    async def _one(self, client: Any, req: JudgeRequest, budget: Budget) -> JudgeReply:
        """One judgment, retried with backoff. Each attempt holds a slot of the adaptive
        limit only while it is on the wire, so a backoff does not block other requests and a
        retry after a timeout waits for the (possibly cut) limit."""
        import openai

        start = time.perf_counter()
        last_error = "no attempt made"
        for attempt in range(self.retry.max_retries + 1):
            refused = budget.take()
            if refused:
                return JudgeReply(
                    None, error=refused, attempts=attempt, seconds=time.perf_counter() - start
                )
            epoch = await self.limit.acquire()
            timed_out = answered = False
            try:
                resp, choice, text = await self._send(client, req)
                answered = True
            except openai.APITimeoutError as e:
                timed_out = True
                last_error = f"timed out after {self.retry.timeout:g} s: {redact(str(e))}"
                wait = self.retry.delay(attempt)
            except (
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APIConnectionError,
            ) as e:
                last_error = f"{type(e).__name__}: {redact(str(e))}"
                wait = self.retry.delay(attempt, _retry_after(e))
            except openai.APIStatusError as e:  # other 4xx: retrying will not help
                return JudgeReply(
                    None,
                    error=f"{type(e).__name__}: {redact(str(e))}",
                    attempts=attempt + 1,
                    seconds=time.perf_counter() - start,
                )
            except (AttributeError, IndexError, TypeError, ValueError) as e:
                last_error = f"malformed reply: {type(e).__name__}: {redact(str(e))}"
                wait = self.retry.delay(attempt)
            finally:
                await self.limit.release(epoch, timed_out=timed_out, answered=answered)
            if answered:
                return _answered(
                    resp, choice, text, budget, time.perf_counter() - start, attempt + 1
                )
            if attempt < self.retry.max_retries:
                await asyncio.sleep(wait)
        return JudgeReply(
            None,
            error=f"gave up after {self.retry.max_retries + 1} attempts: {last_error}",
            attempts=self.retry.max_retries + 1,
            seconds=time.perf_counter() - start,
        )

    async def _all(
        self, requests: Sequence[JudgeRequest], budget: Budget, on_reply: OnReply
    ) -> list[JudgeReply]:
        client = self._client()
        self.limit.open()

        async def tracked(index: int, req: JudgeRequest) -> JudgeReply:
            reply = await self._one(client, req, budget)
            on_reply(index, reply)
            return reply

        try:
            return list(await asyncio.gather(*(tracked(k, r) for k, r in enumerate(requests))))
        finally:
            await client.close()

    def complete_many(
        self, requests: Sequence[JudgeRequest], budget: Budget, on_reply: OnReply
    ) -> list[JudgeReply]:
        if not requests:
            return []
        return asyncio.run(self._all(requests, budget, on_reply))


def _first_token_logprobs(choice: Any) -> dict[str, float] | None:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    first = content[0]
    tops = getattr(first, "top_logprobs", None) or []
    out = {t.token: float(t.logprob) for t in tops}
    out.setdefault(first.token, float(first.logprob))
    return out


def _answered(
    resp: Any, choice: Any, text: str, budget: Budget, seconds: float, attempts: int
) -> JudgeReply:
    """The reply of an answered request; its tokens count against the budget."""
    usage = getattr(resp, "usage", None)
    pt = int(getattr(usage, "prompt_tokens", 0) or 0)
    ct = int(getattr(usage, "completion_tokens", 0) or 0)
    budget.spend(pt + ct)
    served = {
        k: str(v)
        for k in ("model", "system_fingerprint")
        if (v := getattr(resp, k, None)) is not None
    }
    return JudgeReply(
        text, _first_token_logprobs(choice), pt, ct, seconds, attempts, served=served or None
    )


@dataclass
class LocalBackend:
    """A judge model run in-process on the transformers engine (greedy). Requests that ask
    for log-probabilities get the first reply token's top TOP_LOGPROBS, as an endpoint would."""

    model: str
    batch_size: int = 8
    _engine: Any = field(default=None, repr=False)

    def identity(self) -> dict[str, Any]:
        return {"backend": "local", **self.engine().identity(), "top_logprobs": TOP_LOGPROBS}

    def settings(self) -> dict[str, Any]:
        return {"in_process": True, "batch_size": self.batch_size}

    def served(self) -> dict[str, str]:
        """The model that answers, as a reply would name it: spec and weights fingerprint."""
        found = self.engine().identity()
        return {"model": str(found.get("model")), "fingerprint": str(found.get("fingerprint"))}

    def engine(self) -> Any:
        if self._engine is None:
            self._engine = create_engine(
                "transformers", EngineConfig(model=self.model, batch_size=self.batch_size)
            )
        return self._engine

    def complete_many(
        self, requests: Sequence[JudgeRequest], budget: Budget, on_reply: OnReply
    ) -> list[JudgeReply]:
        replies: list[JudgeReply] = []
        engine = self.engine()
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start : start + self.batch_size]
            allowed = [budget.take() is None for _ in chunk]
            todo = [r for r, ok in zip(chunk, allowed, strict=True) if ok]
            t = time.perf_counter()
            outs: list[Any] = []
            if todo:
                params = GenerationParams(
                    max_new_tokens=max(r.max_tokens for r in todo),
                    temperature=todo[0].temperature,
                    seed=todo[0].seed or 0,
                )
                k = TOP_LOGPROBS if any(r.logprobs for r in todo) else 0
                outs = engine.generate([list(r.messages) for r in todo], params, top_logprobs=k)
            per = (time.perf_counter() - t) / max(1, len(todo))
            done = iter(zip(todo, outs, strict=True))
            for ok in allowed:
                if not ok:
                    replies.append(JudgeReply(None, error="budget exhausted"))
                else:
                    req, out = next(done)
                    c = out[0]
                    budget.spend(c.prompt_tokens + c.completion_tokens)
                    top = c.top_logprobs if req.logprobs else None
                    replies.append(
                        JudgeReply(
                            c.text,
                            top,
                            c.prompt_tokens,
                            c.completion_tokens,
                            per,
                            served=self.served(),
                        )
                    )
                on_reply(len(replies) - 1, replies[-1])
        return replies


def backend_from_spec(
    spec: str,
    *,
    base_url: str | None = None,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
) -> JudgeBackend:
    """`openai:MODEL` or `local:MODEL` -> a backend."""
    kind, model = check_judge_spec(spec)
    if kind == "openai":
        return OpenAIBackend(model, base_url=base_url, concurrency=concurrency, retry=retry)
    return LocalBackend(model)


def check_judge_spec(spec: str) -> tuple[str, str]:
    """(backend, model) of `openai:MODEL` or `local:MODEL`, or a UserError saying what is
    wrong (a job checks its judges with this before any work starts)."""
    kind, _, model = spec.partition(":")
    if not model:
        raise UserError(f"judge spec '{spec}' must look like openai:MODEL or local:MODEL")
    if kind not in ("openai", "local"):
        raise UserError(f"judge spec '{spec}': unknown backend '{kind}' (use openai: or local:)")
    return kind, model
