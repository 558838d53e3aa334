"""A request budget per target host: requests in flight and requests per second, per process.

A target's proxy counts per client address, not per client object: Primero's bundled nginx
refuses a 21st request in flight and more than 50 r/s (burst 20) from one IP with a 503 page
(REAL-SYSTEMS.md). So every `HttpClient` of one process that talks to the same host draws on ONE
budget (one per event loop, since asyncio primitives belong to a loop), and each service's
settings give it a share that stays under the proxy's limits together with the other services
behind the same egress address (see the shared README for the arithmetic).

When clients of one process configure different budgets for a host (local mode runs
fetcher-primero and loader-primero in one process), the shared budget takes the largest of each
figure: each figure is what one service was allowed on its own, so the largest still respects
the proxy, where a sum could not.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BudgetLimits:
    """At most `concurrency` requests in flight, and `rate_per_s` on average (0 = unlimited)
    with at most `concurrency` back to back."""

    concurrency: int
    rate_per_s: float = 0.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("a request budget needs a concurrency of at least 1")
        if self.rate_per_s < 0:
            raise ValueError("a request rate cannot be negative (0 = unlimited)")

    def widened(self, other: BudgetLimits) -> BudgetLimits:
        """The largest of each figure (see the module docstring)."""
        unlimited = self.rate_per_s == 0 or other.rate_per_s == 0
        rate = 0.0 if unlimited else max(self.rate_per_s, other.rate_per_s)
        return BudgetLimits(max(self.concurrency, other.concurrency), rate)


class HostBudget:
    """The slots and the token bucket every client of one host shares (FIFO for both)."""

    def __init__(self, host: str, limits: BudgetLimits, clock: Callable[[], float]) -> None:
        self.host = host
        self.limits = limits
        self.in_flight = 0
        #: Most requests seen in flight at once (for tests and diagnostics).
        self.peak = 0
        self._clock = clock
        self._free = asyncio.Condition()
        self._pacing = asyncio.Lock()
        self._tokens = float(limits.concurrency)
        self._updated = clock()

    def widen(self, limits: BudgetLimits) -> None:
        wider = self.limits.widened(limits)
        if wider != self.limits:
            log.info(
                "http_budget_widened",
                host=self.host,
                concurrency=wider.concurrency,
                rate_per_s=wider.rate_per_s,
            )
            self.limits = wider

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot for the duration of a request, after the rate allows it."""
        async with self._free:
            await self._free.wait_for(lambda: self.in_flight < self.limits.concurrency)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            await self._pace()
            yield
        finally:
            async with self._free:
                self.in_flight -= 1
                self._free.notify()

    async def _pace(self) -> None:
        rate = self.limits.rate_per_s
        if rate <= 0:
            return
        async with self._pacing:
            while True:
                now = self._clock()
                burst = float(self.limits.concurrency)
                self._tokens = min(burst, self._tokens + max(0.0, now - self._updated) * rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / rate)


_budgets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, HostBudget]] = (
    weakref.WeakKeyDictionary()
)


def host_of(base_url: str) -> str:
    """`scheme://host:port` of a URL: what a proxy in front of the target counts by."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def budget_for(
    base_url: str, limits: BudgetLimits, *, clock: Callable[[], float] = time.monotonic
) -> HostBudget:
    """This process's budget for the host of `base_url` (created, or widened, by `limits`).

    Call it inside the running event loop (the first request does)."""
    per_host = _budgets.setdefault(asyncio.get_running_loop(), {})
    host = host_of(base_url)
    budget = per_host.get(host)
    if budget is None:
        budget = per_host[host] = HostBudget(host, limits, clock)
    else:
        budget.widen(limits)
    return budget
