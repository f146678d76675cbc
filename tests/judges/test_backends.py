"""Retries, timeouts, garbage and budgets against the fault-injecting loopback endpoint."""

from harness.core.records import Message
from judges.llm.backends import Budget, JudgeRequest, OpenAIBackend, RetryPolicy
from tests.support.fake_endpoint import FakeEndpoint

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, timeout=0.5)


def ask(
    endpoint: FakeEndpoint,
    prompts: list[str],
    budget: Budget | None = None,
    retry: RetryPolicy = FAST,
):
    backend = OpenAIBackend("judge", base_url=endpoint.url, concurrency=4, retry=retry)
    requests = [JudgeRequest((Message(role="user", content=p),), 8) for p in prompts]
    arrived: dict[int, object] = {}

    def keep(k: int, reply: object) -> None:
        assert k not in arrived
        arrived[k] = reply

    replies = backend.complete_many(requests, budget or Budget(), keep)
    # Each reply is handed over once, as it arrives, and is the one returned.
    assert sorted(arrived) == list(range(len(prompts)))
    assert all(arrived[k] is reply for k, reply in enumerate(replies))
    return replies


def test_transient_faults_are_retried_then_succeed() -> None:
    script = {"a": ["429", "500", "ok"], "b": ["hang"], "c": ["truncated", "garbage"]}
    with FakeEndpoint(script=script, hang_seconds=5) as ep:
        a, b, c = ask(ep, ["a", "b", "c"])
    assert (a.text, a.attempts, a.error) == ("echo: a", 3, None)
    assert (b.text, b.attempts) == ("echo: b", 2)  # timed out once
    assert (c.text, c.attempts) == ("echo: c", 3)


def test_persistent_faults_become_failure_records() -> None:
    script = {"x": ["500"] * 10, "y": ["garbage"] * 10, "z": ["401"]}
    with FakeEndpoint(script=script) as ep:
        x, y, z = ask(ep, ["x", "y", "z"])
        assert [r["messages"][-1]["content"] for r in ep.requests].count("z") == 1  # 4xx: no retry
    assert (
        x.text is None
        and x.attempts == 4
        and "gave up after 4 attempts: InternalServerError" in (x.error or "")
    )
    assert y.text is None and "malformed reply" in (y.error or "")
    assert z.text is None and z.attempts == 1 and "AuthenticationError" in (z.error or "")


def test_budget_caps_requests() -> None:
    with FakeEndpoint() as ep:
        replies = ask(ep, [f"p{i}" for i in range(6)], Budget(max_requests=4))
        assert len(ep.requests) == 4
    assert sum(r.error is None for r in replies) == 4
    assert all(r.error == "budget exhausted (max_requests=4)" for r in replies if r.error)


def test_retry_delay_grows_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    assert all(0 <= policy.delay(0) <= 1.0 for _ in range(50))
    assert max(policy.delay(3) for _ in range(200)) > 4.0
    assert all(policy.delay(10) <= 8.0 for _ in range(50))
    assert policy.delay(2, retry_after=3.0) == 3.0
