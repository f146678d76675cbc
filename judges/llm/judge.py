"""A judge = a template + a backend + the results store: it asks, caches and accounts.

Every reply is cached under (judge identity, template id, rendered request), so a re-run
of the same judging costs no requests. Each reply is stored the moment it arrives, so an
interrupted judging run loses at most the replies in flight. Failed requests are not
cached: a re-run retries them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

from harness.core.store import ResultsStore, content_key
from judges.llm.backends import (
    Budget,
    JudgeBackend,
    JudgeReply,
    JudgeRequest,
    backend_from_spec,
)
from judges.llm.client import Endpoint, JudgeClient
from judges.llm.template import JudgeTemplate

MIN_VERDICT_MASS = 0.5
"""Default least probability mass on the verdict tokens for a log-probability verdict."""
CHUNK = 64
"""Requests handed to the backend at once (each reply is stored as it arrives, not per chunk)."""
UNRECORDED = "unrecorded"
"""The served identity of replies stored before identities were kept."""


def served_identities(served: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """A usage's `served` entries as (`model M, system_fingerprint F`, replies), leaving
    out replies stored before identities were kept."""
    return [
        (", ".join(f"{k} {v}" for k, v in sorted(s.items()) if k != "replies"), s["replies"])
        for s in served
        if set(s) - {"replies"}
    ]


@dataclass(frozen=True)
class Price:
    """Dollars per million prompt and completion tokens (for cost accounting)."""

    prompt: float = 0.0
    completion: float = 0.0


@dataclass
class JudgeStats:
    """What judging cost: requests made and served from the store, failures, tokens, time."""

    requests: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float = 0.0
    answered: int = 0
    """Judgments answered, fresh or from the store."""
    answered_seconds: float = 0.0
    """Sum of each answered judgment's own latency (as first measured, for stored ones)."""
    answered_cost: float = 0.0
    """Cost of every answered judgment at its tokens (stored ones priced as if made now)."""
    served: dict[str, int] = field(default_factory=dict)
    """Answered replies by what the endpoint said answered them (JSON of the reply's
    `model` and `system_fingerprint`; "unrecorded" for replies stored before this was kept)."""

    def add(self, other: JudgeStats) -> None:
        """Count `other`'s spending in this one (e.g. a judge's repeats in its audit)."""
        for f in fields(self):
            if f.name == "served":
                for key, n in other.served.items():
                    self.served[key] = self.served.get(key, 0) + n
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["served"] = [
            {**({} if key == UNRECORDED else json.loads(key)), "replies": n}
            for key, n in sorted(self.served.items())
        ]
        return found


class JudgeLike(Protocol):
    """What results and summaries need of whoever judged: one `Judge`, or a panel of them
    (judges/panel/)."""

    @property
    def spec(self) -> str: ...
    @property
    def template(self) -> JudgeTemplate: ...
    @property
    def min_verdict_mass(self) -> float: ...
    def describe(self) -> dict[str, Any]: ...
    def spent(self) -> dict[str, Any]: ...


class Judge:
    """Asks a judge model through the store."""

    def __init__(
        self,
        spec: str,
        template: JudgeTemplate,
        backend: JudgeBackend,
        store: ResultsStore | None = None,
        budget: Budget | None = None,
        price: Price | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.spec = spec
        self.template = template
        self.backend = backend
        self.store = store
        self.budget = budget or Budget()
        self.price = price or Price()
        self.stats = JudgeStats()
        self.temperature = template.config.temperature if temperature is None else temperature
        self.seed = seed
        self.min_verdict_mass = MIN_VERDICT_MASS
        """Least P(A) + P(B) a log-probability verdict may rest on (0: any)."""
        self.client = JudgeClient()
        """The client settings it was built with (output-token cap; stated in reports)."""

    def with_template(self, template: JudgeTemplate) -> Judge:
        """The same judge model, store, prices and client settings asked with another
        template (a local model is not loaded again); its own budget and statistics."""
        other = Judge(self.spec, template, self.backend, self.store, price=self.price)
        other.min_verdict_mass = self.min_verdict_mass
        other.client = self.client
        return other

    def charge(self, other: JudgeStats) -> None:
        """Count spending made on this judge's behalf (an audit's repeat judges) as its own."""
        self.stats.add(other)

    def describe(self) -> dict[str, Any]:
        """The judge's spec as stored with results (no secrets)."""
        return {
            "spec": self.spec,
            "template": self.template.id,
            "backend": self.backend.identity(),
            "temperature": self.temperature,
            "min_verdict_mass": self.min_verdict_mass,
        }

    def usage(self) -> dict[str, Any]:
        """What this judge spent so far, labelled with its spec and template, with the
        client settings in effect (concurrency cuts included)."""
        return {"judge": self.spec, "template": self.template.id, **self.spent()}

    def spent(self) -> dict[str, Any]:
        """What this judge spent so far (requests, tokens, time, cost) and the client
        settings it spent it under."""
        return {**self.stats.as_dict(), "client": self.settings()}

    def settings(self) -> dict[str, Any]:
        """The effective client settings: the backend's (timeout, retries, concurrency and how
        far it was cut) and the output-token cap."""
        return {
            **self.backend.settings(),
            "max_tokens": self.client.max_tokens,
            "template_max_tokens": self.template.config.max_tokens,
        }

    def request(self, **values: str | None) -> JudgeRequest:
        """A request for this judge's template filled with `values`."""
        cfg = self.template.config
        return JudgeRequest(
            tuple(self.template.render(**values)),
            self.client.capped(cfg.max_tokens),
            self.temperature,
            cfg.logprobs,
            self.seed,
        )

    def ask(
        self, requests: Sequence[JudgeRequest], on_done: Callable[[int], None] | None = None
    ) -> list[JudgeReply]:
        """One reply per request, from the store where possible."""
        import time

        on_done = on_done or (lambda k: None)
        identity = self.backend.identity()
        keys = [
            content_key("judgment", identity, self.template.id, r.key_parts()) for r in requests
        ]
        stored = self.store.get_judgments(keys) if self.store is not None else {}
        replies: dict[int, JudgeReply] = {}
        for i, key in enumerate(keys):
            if key in stored:
                replies[i] = JudgeReply(**stored[key], attempts=0)
                self._account_answer(replies[i])
        self.stats.cached += len(replies)
        if replies:
            on_done(len(replies))
        missing = [i for i in range(len(requests)) if i not in replies]
        start = time.perf_counter()
        for at in range(0, len(missing), CHUNK):
            chunk = missing[at : at + CHUNK]

            def keep(k: int, reply: JudgeReply, chunk: list[int] = chunk) -> None:
                """Account for a reply and store it the moment it arrives: a kill loses at
                most the replies still in flight."""
                i = chunk[k]
                replies[i] = reply
                self._account(reply)
                if self.store is not None and reply.error is None and reply.text is not None:
                    row = (keys[i], identity, self.template.id, requests[i].key_parts())
                    self.store.put_judgments([(*row, asdict(reply))])
                on_done(1)

            self.backend.complete_many([requests[i] for i in chunk], self.budget, keep)
        self.stats.seconds += time.perf_counter() - start
        return [replies[i] for i in range(len(requests))]

    def _price(self, reply: JudgeReply) -> float:
        return (
            reply.prompt_tokens * self.price.prompt
            + reply.completion_tokens * self.price.completion
        ) / 1e6

    def _account(self, reply: JudgeReply) -> None:
        self.stats.requests += reply.attempts
        self.stats.retries += max(0, reply.attempts - 1)
        self.stats.failed += reply.error is not None
        self.stats.prompt_tokens += reply.prompt_tokens
        self.stats.completion_tokens += reply.completion_tokens
        self.stats.cost += self._price(reply)
        if reply.error is None:
            self._account_answer(reply)

    def _account_answer(self, reply: JudgeReply) -> None:
        key = UNRECORDED if reply.served is None else json.dumps(reply.served, sort_keys=True)
        self.stats.served[key] = self.stats.served.get(key, 0) + 1
        self.stats.answered += 1
        self.stats.answered_seconds += reply.seconds
        self.stats.answered_cost += self._price(reply)


def build_judge(
    spec: str,
    template: JudgeTemplate,
    store: ResultsStore | None = None,
    endpoint: Endpoint | None = None,
    *,
    budget: Budget | None = None,
    price: Price | None = None,
    temperature: float | None = None,
    seed: int | None = None,
) -> Judge:
    """The judge a spec names (`openai:MODEL` or `local:MODEL`): the one place a judge is
    built from its spec."""
    endpoint = endpoint or Endpoint()
    client = endpoint.client
    backend = backend_from_spec(
        spec, base_url=endpoint.base_url, concurrency=client.concurrency, retry=client.retry()
    )
    judge = Judge(spec, template, backend, store, budget, price, temperature, seed)
    judge.client = client
    return judge
