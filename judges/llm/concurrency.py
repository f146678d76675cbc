"""Requests in flight to a judge endpoint: cut in half when timeouts cluster, grown back slowly.

A timeout from a slow but healthy endpoint (a self-hosted judge on a few cores) means the
server is already busy with more than it can finish in time; resending at the same
concurrency only adds to its queue (and a server that does not cancel abandoned requests
keeps computing the timed-out ones). So, as TCP does with its window: the first timeout of a
request sent at the current limit halves the limit; the other timeouts of that same burst
(sent at the old, larger limit) do not cut again; `limit` answers in a row at a limit add one
back, up to the starting limit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class AdaptiveLimit:
    """A semaphore whose size follows the endpoint's timeouts (multiplicative decrease,
    additive increase). Use `acquire()` before a request and `release(...)` after it."""

    start: int
    limit: int = 0
    lowest: int = 0
    cuts: int = 0
    in_flight: int = 0
    _epoch: int = 0
    _answered: int = 0
    _cond: asyncio.Condition | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.limit = self.lowest = self.start

    def open(self) -> None:
        """Start a batch of requests on the running event loop (the limit reached so far is
        kept from earlier batches: a slow endpoint stays slow between them)."""
        self._cond = asyncio.Condition()
        self.in_flight = 0

    async def acquire(self) -> int:
        """Wait for a free slot; returns the epoch the request is sent in."""
        assert self._cond is not None, "open() first"
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            return self._epoch

    async def release(self, epoch: int, *, timed_out: bool, answered: bool) -> None:
        """Free the slot of a request sent in `epoch`; adjust the limit by how it ended."""
        assert self._cond is not None, "open() first"
        async with self._cond:
            self.in_flight -= 1
            if timed_out:
                if epoch == self._epoch and self.limit > 1:
                    self.limit = max(1, self.limit // 2)
                    self.lowest = min(self.lowest, self.limit)
                    self.cuts += 1
                    self._epoch += 1
                    self._answered = 0
            elif answered and epoch == self._epoch:
                self._answered += 1
                if self._answered >= self.limit and self.limit < self.start:
                    self.limit += 1
                    self._epoch += 1
                    self._answered = 0
            self._cond.notify_all()
