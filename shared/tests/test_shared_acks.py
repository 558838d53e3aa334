"""AckTracker: batched multiple-acks that only ever cover settled deliveries."""

from __future__ import annotations

import asyncio

from casebridge.acks import AckTracker


def _tracker(batch: int = 200, interval_s: float = 10.0) -> tuple[AckTracker, list[int]]:
    sent: list[int] = []
    return AckTracker(sent.append, batch=batch, interval_s=interval_s), sent


async def test_only_the_settled_prefix_is_acknowledged():
    tracker, sent = _tracker()
    for tag in (1, 2, 3, 4):
        tracker.received(tag)
    tracker.settled(2)
    tracker.settled(4)
    tracker.flush()
    assert sent == [], "tag 1 is still being worked on"
    assert tracker.outstanding == 2
    tracker.settled(1)
    tracker.flush()
    assert sent == [2], "4 waits for 3"
    tracker.settled(3)
    tracker.flush()
    assert sent == [2, 4]
    assert tracker.outstanding == 0


async def test_acks_are_batched_by_count():
    tracker, sent = _tracker(batch=3)
    for tag in range(1, 8):
        tracker.received(tag)
    tracker.settled(1)
    tracker.settled(2)
    assert sent == []
    tracker.settled(3)
    assert sent == [3]
    for tag in (4, 5, 6):
        tracker.settled(tag)
    assert sent == [3, 6]
    tracker.settled(7)
    assert sent == [3, 6]


async def test_acks_are_batched_by_time():
    tracker, sent = _tracker(batch=100, interval_s=0.02)
    tracker.received(1)
    tracker.received(2)
    tracker.settled(1)
    tracker.settled(2)
    assert sent == []
    await asyncio.sleep(0.06)
    assert sent == [2], "one multiple-ack for both after the interval"
    await asyncio.sleep(0.04)
    assert sent == [2], "nothing more to send"


async def test_a_count_flush_cancels_the_pending_timer():
    tracker, sent = _tracker(batch=2, interval_s=0.02)
    for tag in (1, 2):
        tracker.received(tag)
    tracker.settled(1)
    tracker.settled(2)
    assert sent == [2]
    await asyncio.sleep(0.05)
    assert sent == [2]


async def test_a_nacked_tag_never_becomes_the_ack_bound():
    tracker, sent = _tracker()
    for tag in (1, 2, 3):
        tracker.received(tag)
    tracker.settled(1)
    tracker.settled(2, acked=False)
    tracker.flush()
    assert sent == [1]
    tracker.settled(3)
    tracker.flush()
    assert sent == [1, 3]


async def test_only_nacked_deliveries_send_no_ack_at_all():
    tracker, sent = _tracker(batch=1)
    for tag in (1, 2):
        tracker.received(tag)
    tracker.settled(2, acked=False)
    tracker.settled(1, acked=False)
    tracker.flush()
    assert sent == []
    assert tracker.outstanding == 0


async def test_a_nack_after_an_unflushed_ack_keeps_the_earlier_bound():
    tracker, sent = _tracker()
    for tag in (1, 2, 3):
        tracker.received(tag)
    tracker.settled(1)
    tracker.settled(3, acked=False)
    tracker.settled(2, acked=False)
    tracker.flush()
    assert sent == [1]


async def test_flush_with_nothing_settled_sends_nothing():
    tracker, sent = _tracker()
    tracker.flush()
    tracker.received(1)
    tracker.flush()
    assert sent == []
