"""Retrying an idempotent read in place: one failed request is sent again, not the whole pass.

A fetcher pages through a query and publishes page by page; when one page (or one referral
list) answers a transient failure, such as the 503 page of Primero's proxy (HTML, no
`Retry-After`), sending that one request again after a pause keeps every page before it
confirmed and untouched. Only reads are retried here (a write's retry belongs to the broker's
retry tiers, which count attempts and dead-letter).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog

from casebridge.errors import TransientError

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ReadRetry:
    """`attempts` tries in all (1 = no retry); between them the target's `Retry-After` when it
    sent one, else exponential backoff from `base_s` (doubling, at most `max_s`, with jitter so
    clients that failed together do not come back together)."""

    attempts: int = 1
    base_s: float = 1.0
    max_s: float = 30.0

    def pause_s(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_s)
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def run(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """`call()`, again after each TransientError until the attempts are used up."""
        attempt = 1
        while True:
            try:
                return await call()
            except TransientError as exc:
                if attempt >= self.attempts:
                    raise
                pause = self.pause_s(attempt, exc.retry_after)
                log.warning(
                    "read_retry",
                    what=what,
                    attempt=attempt,
                    pause_s=round(pause, 2),
                    status=getattr(exc, "status", None),
                )
                await asyncio.sleep(pause)
                attempt += 1
