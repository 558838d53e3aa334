"""Flows C0 and C2's source query: OSCaR's `GET …/clients` since the cursor's day.

OSCaR exposes no timestamps, and filters referred clients at full precision but every other
client by DATE (API.md §2.3). So the cursor is our own clock at the start of the last
successful pass (minus an overlap for skew), and each pass asks for everything since MIDNIGHT
of the cursor's day: a client changed at 23:59:59 is still in the next pass after midnight.
The whole day is re-read every pass; message ids (a content hash, as there is no source
version) drop what was already published, so only changed clients go out again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from casebridge.clients import OscarClient
from casebridge.control import ControlStore
from casebridge.fetch_metrics import FetchMetrics
from casebridge.messages import RawRecord, SourceRef
from casebridge.publishing import MessagePublisher

log = structlog.get_logger(__name__)

CURSOR = "oscar:clients"
STAGE = "fetcher-oscar"
PRODUCER = "fetcher-oscar"
#: One raw record per client per flow; the transformer decides eligibility (C0: linked only).
FLOWS = ("c2", "c0")
#: The `flow` label of this query's fetch metrics: one pass feeds both flows.
METRICS_FLOW = "c0+c2"


def utc_now() -> datetime:
    """The fetcher's clock (tests inject their own)."""
    return datetime.now(UTC)


def cursor_day(cursor: str) -> date:
    """The UTC day of a stored cursor (an ISO timestamp, or a bare date)."""
    moment = datetime.fromisoformat(cursor.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


class ClientsFetch:
    """One pass: read the feed since the cursor's midnight, publish unseen records, advance."""

    def __init__(
        self,
        client: OscarClient,
        publisher: MessagePublisher,
        open_store: Callable[[], Awaitable[ControlStore]],
        *,
        start_date: str,
        overlap_s: float = 300.0,
        chunk: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._publisher = publisher
        self._open_store = open_store
        self._store: ControlStore | None = None
        self._start_date = start_date
        self._overlap = timedelta(seconds=overlap_s)
        self._chunk = chunk
        self._clock = clock

    async def store(self) -> ControlStore:
        """The control store, opened on first use (opening is I/O, bootstrap is not)."""
        if self._store is None:
            self._store = await self._open_store()
        return self._store

    async def run(self) -> int:
        """One pass; returns the raw records published (two per changed client)."""
        store = await self.store()
        started = self._clock()  # before the request: changes during it are re-read next time
        stored = await store.get_cursor(CURSOR)
        if stored is not None:
            FetchMetrics.for_registry().cursor_at(CURSOR, stored.value)
        since = cursor_day(stored.value if stored is not None else self._start_date)
        items = await self._client.list_clients(since_date=since)
        FetchMetrics.for_registry().fetched(METRICS_FLOW, len(items))
        records = list(self._records(items))
        published = 0
        for batch in _chunks(records, self._chunk):
            already = await store.seen(STAGE, [r.message_id for r in batch])
            fresh = [r for r in batch if r.message_id not in already]
            if fresh:
                await self._publisher.publish_many(fresh)
                await store.remember(STAGE, [r.message_id for r in fresh])
                published += len(fresh)
        await store.set_cursor(CURSOR, (started - self._overlap).isoformat())
        FetchMetrics.for_registry().cursor_at(CURSOR, started - self._overlap)
        log.info(
            "oscar_clients_pass",
            cursor=CURSOR,
            since=since.isoformat(),
            clients=len(items),
            published=published,
        )
        return published

    def _records(self, items: Sequence[dict[str, Any]]) -> Iterator[RawRecord]:
        skipped = 0
        for item in items:
            record_id = item.get("global_id") or item.get("slug")
            if not record_id:
                skipped += 1
                continue
            source = SourceRef(
                system="oscar",
                record_type="client",
                record_id=str(record_id),
                updated_at=_updated_at(item),
            )
            for flow in FLOWS:
                yield RawRecord.of(
                    flow=flow, source=source, payload=item, producer=PRODUCER, query=CURSOR
                )
        if skipped:
            log.warning("oscar_clients_without_id", cursor=CURSOR, skipped=skipped)

    async def close(self) -> None:
        """Release the client's connections and the store."""
        await self._client.close()
        if self._store is not None:
            await self._store.close()
            self._store = None


def _updated_at(item: dict[str, Any]) -> datetime | None:
    """The record's own `updated_at` when OSCaR sends one (today's serializers do not)."""
    value = item.get("updated_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(records: list[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
