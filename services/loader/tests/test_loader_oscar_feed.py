"""Known-child upserts share feed reads, and each gets a read sent after it asked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from loader.targets.oscar_feed import SharedFeedReads


class GatedFeed:
    """A feed read that answers only when the test releases it; counts what was asked."""

    def __init__(self) -> None:
        self.sent: list[asyncio.Event] = []

    async def __call__(self) -> list[dict[str, Any]]:
        gate = asyncio.Event()
        self.sent.append(gate)
        number = len(self.sent)
        await gate.wait()
        return [{"read": number}]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_during_a_read_share_the_next_one_and_none_gets_an_older_read() -> None:
    source = GatedFeed()
    feeds = SharedFeedReads(source)
    first = asyncio.ensure_future(feeds.feed())
    await settle()
    assert len(source.sent) == 1  # read 1 is in flight
    later = [asyncio.ensure_future(feeds.feed()) for _ in range(5)]
    await settle()
    assert len(source.sent) == 1  # they wait for the next read, not for read 1
    source.sent[0].set()
    assert await first == [{"read": 1}]
    await settle()
    assert len(source.sent) == 2  # one read for the five of them
    source.sent[1].set()
    assert [await f for f in later] == [[{"read": 2}]] * 5
    assert feeds.reads == 2


async def test_a_failed_read_fails_its_callers_and_the_next_caller_reads_again() -> None:
    calls = 0

    async def failing_once() -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("OSCaR answered 503")
        return []

    feeds = SharedFeedReads(failing_once)
    with pytest.raises(RuntimeError):
        await asyncio.gather(feeds.feed(), feeds.feed())
    assert await feeds.feed() == []
    assert calls == 2
