"""Flow C1's source query: every Primero case changed since the cursor, with its referrals.

MAPPINGS A.2.2 ran three identical queries, page 1 only at `per=10000` (cut to 1000 by Primero),
and fetched referrals for every case. Intended behaviour, implemented here: ONE query
`last_updated_at=<cursor - overlap>..` ordered by `last_updated_at` ascending, paged to the end;
referrals fetched only for cases that have services (a referral to OSCaR always names a
service row) and only for records not already published; the transformer makes the three
selections from the one raw record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from casebridge.clients import PrimeroClient
from casebridge.control import ControlStore
from casebridge.fetch_metrics import FetchMetrics
from casebridge.messages import RawRecord, SourceRef
from casebridge.publishing import MessagePublisher
from casebridge.transport import Outgoing
from fetcher_primero.case_record import PRODUCER, CaseRecordEncoder
from fetcher_primero.own_writes import own_echoes
from fetcher_primero.watermark import parse_primero_time, primero_time, query_from

log = structlog.get_logger(__name__)

CURSOR = "primero:c1-cases"
#: The newest `last_updated_at` ever handed to the broker (written before each page is sent).
#: A case updated after it cannot have been published, so only cases at or before it are
#: looked up in the processed ids: the lookup of a page of new cases was the slowest step of a
#: page. `casebridge fetch` lowers CURSOR only, so what a backfill re-reads is still checked.
PUBLISHED_THROUGH = f"{CURSOR}.published-through"
STAGE = "fetcher-primero"
FLOW = "c1"
#: Extra sweeps when records moved while paging (see `C1CasesFetch.run`).
MAX_SWEEPS = 3


class C1CasesFetch:
    """One C1 pass: page, dedupe, attach referrals, publish with confirms, then advance."""

    def __init__(
        self,
        client: PrimeroClient,
        publisher: MessagePublisher,
        open_store: Callable[[], Awaitable[ControlStore]],
        *,
        start_cursor: str,
        overlap_s: float = 300.0,
        per: int = 1000,
        referral_concurrency: int = 16,
    ) -> None:
        self._client = client
        self._publisher = publisher
        self._open_store = open_store
        self._store: ControlStore | None = None
        self._through: datetime | None = None
        self._start_cursor = start_cursor
        self._overlap_s = overlap_s
        self._per = per
        self._referral_slots = asyncio.Semaphore(referral_concurrency)
        # The record's body is encoded straight from the decoded case (see CaseRecordEncoder):
        # no model built and validated per case, twice (once for its id, once to publish).
        exchange, routing_key = publisher.route(
            RawRecord.of(
                flow=FLOW,
                source=SourceRef(system="primero", record_type="case", record_id="-"),
                payload={},
                producer=PRODUCER,
            )
        )
        self._encoder = CaseRecordEncoder(
            flow=FLOW, query=CURSOR, exchange=exchange, routing_key=routing_key
        )

    async def store(self) -> ControlStore:
        """The control store, opened on first use (opening is I/O, bootstrap is not)."""
        if self._store is None:
            self._store = await self._open_store()
        return self._store

    async def run(self) -> int:
        """One pass; returns the raw records published.

        Offset paging over a set that changes while we read can skip a record: an update moves
        a case from an early page to the end and shifts the rest left by one. We notice it (the
        same case seen at two versions in one sweep) and sweep again from the same start; dedup
        makes the repeat publish only what the first sweep missed.
        """
        store = await self.store()
        stored = await store.get_cursor(CURSOR)
        if stored is not None:
            FetchMetrics.for_registry().cursor_at(CURSOR, stored.value)
        mark = await store.get_cursor(PUBLISHED_THROUGH)
        # A store from before the mark existed: the cursor is what was published through.
        known = [parse_primero_time(c.value) for c in (stored, mark) if c is not None]
        self._through = max(known) if known else None
        start = stored.value if stored is not None else self._start_cursor
        since = query_from(start, self._overlap_s)
        published = 0
        for sweep in range(1, MAX_SWEEPS + 1):
            count, moved = await self._sweep(store, since)
            published += count
            if not moved:
                break
            log.info("c1_cases_resweep", cursor=CURSOR, sweep=sweep)
        log.info("c1_cases_pass", cursor=CURSOR, since=since, published=published)
        return published

    async def _sweep(self, store: ControlStore, since: str) -> tuple[int, bool]:
        """Page through the query; page k is published while page k+1's referrals are read.

        Deliveries run one at a time in page order, so the cursor still only moves past a page
        once it and every page before it were confirmed.
        """
        params = {
            "last_updated_at": f"{since}..",
            "order_by": "last_updated_at",
            "order": "asc",
        }
        versions: dict[str, Any] = {}
        moved = False
        published = 0
        # The sweep's start mark (a resweep takes the mark its predecessor moved), raised to each
        # page's newest: pages come in `last_updated_at` order, so a case met again in this
        # sweep is one at or before the previous page's newest (a tie group across a page edge,
        # or the client's re-read of it) and is looked up; those of the page being delivered
        # are excluded by `in_flight`, those of earlier pages are remembered by then.
        check_until = self._through
        delivering: asyncio.Task[int] | None = None
        in_flight: set[str] = set()
        try:
            async for page in self._client.iter_case_pages(params, per=self._per):
                FetchMetrics.for_registry().fetched(FLOW, len(page.records))
                for case in page.records:
                    before = versions.setdefault(str(case.get("id")), case.get("last_updated_at"))
                    moved = moved or before != case.get("last_updated_at")
                stamps = [_updated(case) for case in page.records]
                known = [u for u in stamps if u is not None]
                newest = max(known) if known else None
                records = await self._prepare_page(
                    store, page.records, stamps, in_flight, check_until
                )
                if newest is not None and (check_until is None or newest > check_until):
                    check_until = newest
                if delivering is not None:
                    published += await delivering
                in_flight = {r.message_id for r in records if r.message_id}
                delivering = asyncio.create_task(
                    self._deliver(store, records, newest, len(page.records))
                )
            if delivering is not None:
                published += await delivering
                delivering = None
        finally:
            if delivering is not None and not delivering.done():
                # A failed page read: let the page already handed over finish, so what the
                # broker confirmed is also remembered; its own error is secondary.
                with contextlib.suppress(Exception):
                    await delivering
        return published, moved

    async def _prepare_page(
        self,
        store: ControlStore,
        cases: Sequence[dict[str, Any]],
        stamps: Sequence[datetime | None],
        in_flight: set[str],
        check_until: datetime | None,
    ) -> list[Outgoing]:
        """The page's records not yet published (nor being published), with their referrals."""
        ids = {self._encoder.message_id(c, u): (c, u) for c, u in zip(cases, stamps, strict=True)}
        maybe_published = [
            mid
            for mid, (_, u) in ids.items()
            if u is None or (check_until is not None and u <= check_until)
        ]
        already = await store.seen(STAGE, maybe_published) if maybe_published else set()
        fresh = [cu for mid, cu in ids.items() if mid not in already and mid not in in_flight]
        echoes = await own_echoes(store, [c for c, _ in fresh])
        if echoes:
            fresh = [(c, u) for c, u in fresh if str(c.get("id")) not in echoes]
            log.info("c1_cases_own_writes_skipped", cursor=CURSOR, cases=len(echoes))
        produced_at = datetime.now(UTC)
        return list(
            await asyncio.gather(*(self._with_referrals(c, u, produced_at) for c, u in fresh))
        )

    async def _deliver(
        self, store: ControlStore, records: list[Outgoing], newest: datetime | None, cases: int
    ) -> int:
        """Publish, wait for every confirm, remember, then advance the cursor past the page
        (`newest`: the page's newest `last_updated_at`, of all its `cases`)."""
        if records:
            await self._mark_published_through(store, newest)
            await self._publisher.publish_encoded(records)
            await store.remember(STAGE, [r.message_id for r in records if r.message_id])
            log.info("c1_cases_page", cursor=CURSOR, cases=cases, published=len(records))
        await self._advance(store, newest)
        return len(records)

    async def _mark_published_through(self, store: ControlStore, newest: datetime | None) -> None:
        """Move the mark to the page's newest case before it is sent (a send that then fails
        leaves the mark ahead: its cases are looked up next time, and were not published)."""
        if newest is None or (self._through is not None and newest <= self._through):
            return
        self._through = newest
        await store.set_cursor(PUBLISHED_THROUGH, primero_time(newest))

    async def _advance(self, store: ControlStore, newest: datetime | None) -> None:
        """Move the cursor to the page's newest `last_updated_at`, never backwards."""
        if newest is None:
            return
        stored = await store.get_cursor(CURSOR)
        if stored is not None and parse_primero_time(stored.value) >= newest:
            return
        await store.set_cursor(CURSOR, primero_time(newest))
        FetchMetrics.for_registry().cursor_at(CURSOR, newest)

    async def _with_referrals(
        self, case: dict[str, Any], updated: datetime | None, produced_at: datetime
    ) -> Outgoing:
        referrals: list[dict[str, Any]] = []
        if case.get("services_section"):
            async with self._referral_slots:
                referrals = await self._client.list_referrals(str(case["id"]))
        return self._encoder.encode({**case, "referrals": referrals}, updated, produced_at)

    async def close(self) -> None:
        """Release the client's connections and the store."""
        await self._client.close()
        if self._store is not None:
            await self._store.close()
            self._store = None


def _updated(case: dict[str, Any]) -> datetime | None:
    text = case.get("last_updated_at")
    return parse_primero_time(text) if text else None
