"""Accepting a raw record: at most one publish per message id, answered only after the confirm.

`accept` returns the receipt (the record's deterministic message id) once the broker confirmed
the record and the control store remembered it. A repeated delivery finds the id remembered and
gets the same receipt without a second publish. Anything that stops the record from being
confirmed raises `Unavailable`: the caller answers 503 and the sender retries; nothing was
remembered, so the retry publishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog

from casebridge.control import ControlStore
from casebridge.errors import CasebridgeError
from casebridge.messages import RawRecord
from casebridge.publishing import MessagePublisher

log = structlog.get_logger(__name__)

#: The control-store stage whose processed ids are the inbox's receipts.
STAGE = "inbox"


class Unavailable(Exception):
    """The broker (or the control store) cannot take the record now; nothing was accepted."""


@dataclass(frozen=True)
class Receipt:
    """What the sender gets back: the receipt id, and whether it was a repeat."""

    receipt: str
    duplicate: bool


class Intake:
    """Publishes raw records once each, with confirms, remembering receipts."""

    def __init__(
        self,
        publisher: MessagePublisher,
        store: Callable[[], Awaitable[ControlStore]],
        broker_ready: Callable[[], bool],
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._broker_ready = broker_ready
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def accept(self, record: RawRecord) -> Receipt:
        """Publish `record` unless its id was accepted before; raise `Unavailable` otherwise."""
        receipt = record.message_id
        async with self._hold(receipt):
            try:
                store = await self._store()
                if receipt in await store.seen(STAGE, [receipt]):
                    return Receipt(receipt, duplicate=True)
            except Exception as exc:  # the store's driver errors vary by dialect
                log.warning("inbox_store_unavailable", error_class=type(exc).__name__)
                raise Unavailable("the control store is unavailable") from exc
            if not self._broker_ready():
                raise Unavailable("the broker is unavailable")
            try:
                await self._publisher.publish(record)
            except (CasebridgeError, OSError, TimeoutError) as exc:
                log.warning("inbox_publish_failed", error_class=type(exc).__name__)
                raise Unavailable("the broker did not confirm the record") from exc
            try:
                await store.remember(STAGE, [receipt])
            except Exception as exc:
                # Published but not remembered: a re-delivery publishes once more, and the
                # downstream stages drop it by message id. Still a 503, so the sender retries.
                log.warning("inbox_remember_failed", error_class=type(exc).__name__)
                raise Unavailable("the control store is unavailable") from exc
            return Receipt(receipt, duplicate=False)

    @asynccontextmanager
    async def _hold(self, key: str) -> AsyncIterator[None]:
        """One delivery of a message id at a time (concurrent repeats wait, then find it)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
