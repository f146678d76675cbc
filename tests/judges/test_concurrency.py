"""The judge client under slow endpoints: one request per judgment when the timeout allows
it, and requests in flight cut when timeouts cluster (judges/llm/concurrency.py)."""

import asyncio
import time

from harness.core.records import Message
from judges.llm.backends import Budget, JudgeRequest, OpenAIBackend, RetryPolicy
from judges.llm.client import JudgeClient
from judges.llm.concurrency import AdaptiveLimit
from tests.support.fake_endpoint import FakeEndpoint


def test_a_burst_of_timeouts_halves_the_limit_once_and_answers_grow_it_back() -> None:
    async def scenario() -> list[int]:
        limit = AdaptiveLimit(8)
        limit.open()
        seen = []
        burst = [await limit.acquire() for _ in range(8)]  # 8 sent at limit 8
        for epoch in burst:  # ... and all time out: one cut, not eight
            await limit.release(epoch, timed_out=True, answered=False)
        seen.append(limit.limit)
        epoch = await limit.acquire()  # sent at limit 4, times out: cut again
        await limit.release(epoch, timed_out=True, answered=False)
        seen.append(limit.limit)
        for _ in range(2):  # two answers at limit 2: one more slot
            epoch = await limit.acquire()
            await limit.release(epoch, timed_out=False, answered=True)
        seen.append(limit.limit)
        for _ in range(200):  # never above the start
            epoch = await limit.acquire()
            await limit.release(epoch, timed_out=False, answered=True)
        seen += [limit.limit, limit.lowest, limit.cuts]
        return seen

    assert asyncio.run(scenario()) == [4, 2, 3, 8, 2, 2]


def test_the_limit_holds_requests_back() -> None:
    async def scenario() -> int:
        limit = AdaptiveLimit(2)
        limit.open()
        a = await limit.acquire()
        await limit.acquire()
        waiting = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # a third request waits for a slot
        await limit.release(a, timed_out=False, answered=True)
        await asyncio.wait_for(waiting, 1)
        return limit.in_flight

    assert asyncio.run(scenario()) == 2


def _ask(endpoint: FakeEndpoint, n: int, retry: RetryPolicy, concurrency: int) -> tuple:
    backend = OpenAIBackend("judge", base_url=endpoint.url, concurrency=concurrency, retry=retry)
    requests = [JudgeRequest((Message(role="user", content=f"p{i}"),), 8) for i in range(n)]
    replies = backend.complete_many(requests, Budget(), lambda k, r: None)
    return replies, backend


def test_a_slow_healthy_judge_with_a_long_enough_timeout_gets_one_request_per_judgment() -> None:
    """The 90 s/reply judge, scaled down: replies take 1 s; a 3 s timeout waits for them."""
    client = JudgeClient(timeout=3, concurrency=4)
    with FakeEndpoint(latency=1.0) as ep:
        replies, backend = _ask(ep, 4, client.retry(), client.concurrency)
        assert len(ep.requests) == 4
    assert all(r.error is None and r.attempts == 1 for r in replies)
    assert backend.settings()["concurrency_cuts"] == 0


def test_timeouts_on_a_saturated_server_cut_concurrency_instead_of_resending_at_it() -> None:
    """A server that computes one request at a time (0.15 s each, to the end even for a client
    that left) and 8 sent at once with a 0.5 s timeout: the first burst times out; the client
    halves its limit instead of resending at 8, and every judgment is answered in the end.
    (Measured with the limit fixed at 8: 38 requests and 5 of the 8 judgments failed after
    7 attempts; with it: 20 requests, none failed.)"""
    retry = RetryPolicy(max_retries=6, base_delay=0.05, max_delay=0.2, timeout=0.5)
    with FakeEndpoint(latency=0.15, capacity=1) as ep:
        started = time.perf_counter()
        replies, backend = _ask(ep, 8, retry, concurrency=8)
        seconds = time.perf_counter() - started
        sent = len(ep.requests)
    settings = backend.settings()
    assert all(r.error is None for r in replies), [r.error for r in replies]
    assert settings["concurrency_cuts"] >= 1 and settings["concurrency_lowest"] < 8
    assert sent <= 3 * len(replies), (sent, seconds)
