"""A token bucket per target: smooths bursts so a backlog never floods a partner's API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate_per_s` requests per second on average, at most `burst` back to back.

    A rate of 0 (or less) means unlimited. Waiters are served in arrival order (one lock), so a
    busy loader cannot starve any single command.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        """True when no limit applies."""
        return self.rate_per_s <= 0

    async def acquire(self) -> None:
        """Wait until one request may go."""
        if self.unlimited:
            return
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate_per_s)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate_per_s)
