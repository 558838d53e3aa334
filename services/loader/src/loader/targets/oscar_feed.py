"""Known-child upserts share feed reads: the feed is OSCaR's whole client list, unpaged.

Each known child's upsert must check the feed as it is after the command arrived
(`oscar_known_child`). Read once per upsert, a backlog of them downloads the whole list dozens of
times at once (heavy for OSCaR, and a second request per write out of the budget). So one read is
in flight at a time; callers that arrive meanwhile wait for the NEXT read, which they share: every
caller gets a feed requested after it asked, never an older one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Feed = list[dict[str, Any]]


class SharedFeedReads:
    """At most one feed read in flight, and one more that every later caller joins."""

    def __init__(self, read: Callable[[], Awaitable[Feed]]) -> None:
        self._read = read
        self._one_at_a_time = asyncio.Lock()
        self._next: asyncio.Future[Feed] | None = None
        #: Reads sent (for tests and diagnostics).
        self.reads = 0

    async def feed(self) -> Feed:
        """A feed read that was requested after this call began."""
        if self._next is None:
            self._next = asyncio.ensure_future(self._read_next())
        return await asyncio.shield(self._next)

    async def _read_next(self) -> Feed:
        async with self._one_at_a_time:
            self._next = None  # callers from now on need a read sent after them: the next one
            self.reads += 1
            return await self._read()
