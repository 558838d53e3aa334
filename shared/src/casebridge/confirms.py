"""Turning broker confirms (one `ConfirmCallback` per publish) into one outcome for a batch.

Producers send with `Transport.publish_then` and need to know when every message of a batch has
settled, and whether one failed. A failure is reported only after the last confirm, so a caller
that sees it knows nothing of the batch is still in flight (and may retry or dead-letter it).
"""

from __future__ import annotations

import asyncio

from casebridge.transport import ConfirmCallback


def all_confirmed(count: int, then: ConfirmCallback) -> ConfirmCallback:
    """The callback for each of `count` publishes: `then(first error or None)` runs once, when the
    last of them settled (at once when `count` is 0)."""
    remaining = count
    first_error: BaseException | None = None
    if remaining <= 0:
        then(None)

    def one(error: BaseException | None) -> None:
        nonlocal remaining, first_error
        if first_error is None:
            first_error = error
        remaining -= 1
        if remaining == 0:
            then(first_error)

    return one


def into_future(future: asyncio.Future[None]) -> ConfirmCallback:
    """A callback that settles `future` with the confirm (None) or the error, once."""

    def settle(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    return settle
