"""Flow O1's source queries (MAPPINGS C.2): Primero cases for ONA indicators 4.8 and 4.11a.

- Query A (4.8): `record_state=true&type_of_case=children_undergoing_reintegration_55427`;
- Query B (4.11a): `record_state=true&age=0..18` (`0..18` includes 18-year-olds, kept as is).

Each query has its own cursor and pages to the end with the `last_updated_at=<cursor -
overlap>..` window on **every** page (the old job lost the window after page 1, C.1/G6), ordered
by `last_updated_at` ascending. The old "self-retriggering batches" (Job 0 → 3 → inbox → 1 …)
that kept each run under OpenFn's time limit are replaced by one plain paging loop: the cursor
moves after each page's records are confirmed, so an interrupted pass resumes where it stopped.
Page N+1 is fetched while page N is encoded, and encoded and sent while page N's confirms
arrive; cursors still move in page order, each only after its own page's confirms.

Nothing here grows with the number of cases (the fetcher's memory is bounded by a page or two):

- De-duplication across the two queries (MAPPINGS C.3, by `case_id_display` in the old job) is
  stateless: query B skips a case that query A's own filters select inside A's window of this
  pass (A published it, or A's next pass will, its cursor being behind it). The loader's upsert
  by `case_id` makes any repeat harmless (two Primero records with one `case_id_display`, a
  case updated between the two queries, replays).
- The overlap re-read (cursor - `CURSOR_OVERLAP_S`) is de-duplicated by message id through the
  control store, but only where it can matter: `seen` is asked only about cases at or before the
  stored cursor (the re-read part, usually part of the first page) and `remember` records only
  the cases within the overlap of their page's newest one (the only ones a later pass re-reads).
  The rest of a pass costs no control-store round trip and leaves no row per case.
- Every case a query returns must satisfy the query's own filters: Primero silently drops a
  filter on a field the API user's role cannot read (and leaves the field out), so query A
  would select every case. Such a page stops the query before anything of it is published,
  with "Primero ignored the filter on type_of_case: ..." (`FilterIgnored`), a configuration
  problem of the pass (`passes`).
- Moved cases (updated while we page) are noticed with a fixed-size filter (`met_filter`), not a
  set of every id met.

Full re-sync on demand (`O1_FULL_RESYNC=true` or `fetcher-primero --once --full-resync`):
both queries read from `O1_START_CURSOR` and publish every case, whether published before or
not (e.g. after the ONA database was restored); cases in both queries are still sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from casebridge.clients import PrimeroClient
from casebridge.clients.primero import CasePage
from casebridge.clients.primero_filters import check_records
from casebridge.control import ControlStore
from casebridge.fetch_metrics import FetchMetrics
from casebridge.messages import RawRecord, SourceRef
from casebridge.publishing import MessagePublisher
from casebridge.transport import Outgoing
from fetcher_primero.case_record import PRODUCER, CaseRecordEncoder
from fetcher_primero.met_filter import MetFilter
from fetcher_primero.watermark import parse_primero_time, primero_time, query_from

log = structlog.get_logger(__name__)

STAGE = "fetcher-primero"
FLOW = "o1"
MAX_SWEEPS = 3
#: Cases encoded and sent as one unit. Two units are in flight at once (one awaiting its
#: confirms while the next is sent), i.e. 1,000 messages: the transport's confirm window. A
#: whole page of 1,000 per unit kept ~40 MB more bodies and frames alive for no measured gain.
CHUNK = 500


@dataclass(frozen=True)
class O1Query:
    """One indicator query: its cursor name and filters (besides the date window)."""

    cursor: str
    params: Mapping[str, str]


QUERY_4_8 = O1Query(
    "primero:o1-4.8",
    {"record_state": "true", "type_of_case": "children_undergoing_reintegration_55427"},
)
QUERY_4_11A = O1Query("primero:o1-4.11a", {"record_state": "true", "age": "0..18"})
QUERIES = (QUERY_4_8, QUERY_4_11A)


@dataclass
class _Page:
    """One page, encoded and sent; settled (remember, cursor) once its confirms are in."""

    outgoing: list[Outgoing]
    #: Each outgoing case's `last_updated_at` (same order).
    stamps: list[datetime | None]
    newest: datetime | None
    cases: int
    confirmed: asyncio.Future[None] | None = None


@dataclass
class _QueryState:
    """One query in one pass: its window and cursor, and what earlier queries cover."""

    query: O1Query
    since: str
    since_at: datetime
    #: The stored cursor (None before the first confirmed page); it never moves backwards.
    cursor_at: datetime | None
    #: Cases at or before this were possibly published by an earlier pass: the stored cursor at
    #: the start of the pass (None: first pass, or a full re-sync, which republishes).
    reread_until: datetime | None
    #: Earlier queries of this pass and the start of their windows: cases they select are theirs.
    covered: list[tuple[Mapping[str, str], datetime]] = field(default_factory=list)


class O1CasesFetch:
    """One O1 pass: query A then query B, each paged, deduped, published, then its cursor moved."""

    def __init__(
        self,
        client: PrimeroClient,
        publisher: MessagePublisher,
        open_store: Callable[[], Awaitable[ControlStore]],
        *,
        start_cursor: str,
        overlap_s: float = 300.0,
        per: int = 1000,
        full_resync: bool = False,
        queries: Sequence[O1Query] = QUERIES,
    ) -> None:
        self._client = client
        self._publisher = publisher
        self._open_store = open_store
        self._store: ControlStore | None = None
        self._start_cursor = start_cursor
        self._overlap = timedelta(seconds=overlap_s)
        self._overlap_s = overlap_s
        self._per = per
        self._full = full_resync
        self._queries = tuple(queries)
        self._met = MetFilter()
        self._exchange, self._routing_key = publisher.route(
            RawRecord.of(
                flow=FLOW,
                source=SourceRef(system="primero", record_type="case", record_id="-"),
                payload={},
                producer=PRODUCER,
            )
        )

    async def store(self) -> ControlStore:
        """The control store, opened on first use."""
        if self._store is None:
            self._store = await self._open_store()
        return self._store

    async def run(self) -> int:
        """Both queries in order; returns the raw records published."""
        store = await self.store()
        published = 0
        covered: list[tuple[Mapping[str, str], datetime]] = []
        for query in self._queries:
            state = await self._state(store, query, covered)
            published += await self._run_query(store, state)
            covered.append((query.params, state.since_at))
        return published

    async def _state(
        self,
        store: ControlStore,
        query: O1Query,
        covered: list[tuple[Mapping[str, str], datetime]],
    ) -> _QueryState:
        stored = await store.get_cursor(query.cursor)
        if stored is not None:
            FetchMetrics.for_registry().cursor_at(query.cursor, stored.value)
        cursor_at = parse_primero_time(stored.value) if stored is not None else None
        if self._full:
            since = self._start_cursor
        else:
            since = query_from(stored.value if stored else self._start_cursor, self._overlap_s)
        reread_until = None if self._full else cursor_at
        return _QueryState(
            query, since, parse_primero_time(since), cursor_at, reread_until, list(covered)
        )

    async def _run_query(self, store: ControlStore, state: _QueryState) -> int:
        published = 0
        for sweep in range(1, MAX_SWEEPS + 1):
            count, moved = await self._sweep(store, state)
            published += count
            if not moved:
                break
            log.info("o1_cases_resweep", cursor=state.query.cursor, sweep=sweep)
        log.info(
            "o1_cases_pass",
            cursor=state.query.cursor,
            since=state.since,
            full=self._full,
            published=published,
        )
        return published

    async def _sweep(self, store: ControlStore, state: _QueryState) -> tuple[int, bool]:
        # The window is part of the filters, so it is sent with every page.
        params = {
            **state.query.params,
            "last_updated_at": f"{state.since}..",
            "order_by": "last_updated_at",
            "order": "asc",
        }
        self._met.clear()
        # Only a case updated since the sweep began can have moved (clock skew: the overlap).
        moved_after = datetime.now(UTC) - self._overlap
        encoder = CaseRecordEncoder(
            flow=FLOW,
            query=state.query.cursor,
            exchange=self._exchange,
            routing_key=self._routing_key,
        )
        moved = False
        published = 0
        in_flight: _Page | None = None
        try:
            async for page in _one_page_ahead(self._client.iter_case_pages(params, per=self._per)):
                records = page.records
                FetchMetrics.for_registry().fetched(FLOW, len(records))
                del page
                # A role that cannot read `type_of_case` (say) gets every case for query A:
                # stop before publishing any of them (a configuration problem, see passes).
                check_records(records, state.query.params)
                for start in range(0, len(records), CHUNK):
                    chunk = records[start : start + CHUNK]
                    prepared, chunk_moved = self._prepare(chunk, state, encoder, moved_after)
                    del chunk  # the decoded cases: only their encoded bodies stay in flight
                    moved = moved or chunk_moved
                    await self._drop_seen(store, state, prepared)
                    prepared.confirmed = self._publisher.publish_encoded(prepared.outgoing)
                    if in_flight is not None:
                        published += await self._settle(store, state, in_flight)
                    in_flight = prepared
                    del prepared
                del records
            if in_flight is not None:
                current, in_flight = in_flight, None
                published += await self._settle(store, state, current)
        finally:
            if in_flight is not None and in_flight.confirmed is not None:
                # A failure while this page was in flight: let its confirms settle (its cursor
                # stays put) so nothing is still being sent when the pass reports the failure.
                await asyncio.wait([in_flight.confirmed])
                with contextlib.suppress(BaseException):
                    in_flight.confirmed.result()
        return published, moved

    def _prepare(
        self,
        cases: Sequence[dict[str, Any]],
        state: _QueryState,
        encoder: CaseRecordEncoder,
        moved_after: datetime,
    ) -> tuple[_Page, bool]:
        """Encode the cases this query owns; note cases met twice (moved while paging)."""
        produced_at = datetime.now(UTC)
        met = self._met
        covered = state.covered
        outgoing: list[Outgoing] = []
        stamps: list[datetime | None] = []
        newest: datetime | None = None
        moved = False
        for case in cases:
            text = case.get("last_updated_at")
            updated = parse_primero_time(text) if text else None
            key = str(case.get("id"))
            if updated is not None:
                if newest is None or updated > newest:
                    newest = updated
                if updated >= moved_after and met.maybe_met(key):
                    moved = True
            met.add(key)
            if covered and _covered(case, updated, covered):
                continue
            outgoing.append(encoder.encode(case, updated, produced_at))
            stamps.append(updated)
        return _Page(outgoing, stamps, newest, len(cases)), moved

    async def _drop_seen(self, store: ControlStore, state: _QueryState, page: _Page) -> None:
        """Drop what an earlier pass already published: only cases at or before the cursor."""
        until = state.reread_until
        if until is None:
            return
        reread = [
            str(o.message_id)
            for o, at in zip(page.outgoing, page.stamps, strict=True)
            if at is None or at <= until
        ]
        if not reread:
            return
        already = await store.seen(STAGE, reread)
        if already:
            kept = [
                (o, at)
                for o, at in zip(page.outgoing, page.stamps, strict=True)
                if o.message_id not in already
            ]
            page.outgoing = [o for o, _ in kept]
            page.stamps = [at for _, at in kept]

    async def _settle(self, store: ControlStore, state: _QueryState, page: _Page) -> int:
        """Wait for the page's confirms, remember its tail, then move the cursor."""
        assert page.confirmed is not None
        await page.confirmed
        if page.newest is not None:
            # Only these can be re-read by a later pass (it starts an overlap before a cursor
            # that is at least this page's newest); a case without a time is always re-read.
            keep_after = page.newest - self._overlap
            tail = [
                str(o.message_id)
                for o, at in zip(page.outgoing, page.stamps, strict=True)
                if at is None or at >= keep_after
            ]
            if tail:
                await store.remember(STAGE, tail)
        if page.newest is not None and (state.cursor_at is None or page.newest > state.cursor_at):
            await store.set_cursor(state.query.cursor, primero_time(page.newest))
            FetchMetrics.for_registry().cursor_at(state.query.cursor, page.newest)
            state.cursor_at = page.newest
        if page.outgoing:
            log.info(
                "o1_cases_page",
                cursor=state.query.cursor,
                cases=page.cases,
                published=len(page.outgoing),
            )
        return len(page.outgoing)

    async def close(self) -> None:
        """Release the client's connections and the store."""
        await self._client.close()
        if self._store is not None:
            await self._store.close()
            self._store = None


def _covered(
    case: dict[str, Any],
    updated: datetime | None,
    covered: list[tuple[Mapping[str, str], datetime]],
) -> bool:
    """Whether an earlier query of this pass selects `case` inside its window (so it is theirs)."""
    if updated is None:
        return False
    return any(updated >= since and _selects(params, case) for params, since in covered)


def _selects(params: Mapping[str, str], case: dict[str, Any]) -> bool:
    """Primero's filter grammar for exact values: `v`, `a,b` (any of), `true`/`false`.

    Anything else (ranges, unknown shapes) answers False: the case is then published by this
    query too, a duplicate the loader absorbs, never a case lost.
    """
    for name, wanted in params.items():
        if ".." in wanted:
            return False
        value = case.get(name)
        if not any(_equals(value, option) for option in wanted.split(",")):
            return False
    return True


def _equals(value: Any, option: str) -> bool:
    if option in ("true", "false"):
        return value is (option == "true")
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return value == option
    if isinstance(value, int):
        return str(value) == option
    return False


async def _one_page_ahead(pages: AsyncIterator[CasePage]) -> AsyncIterator[CasePage]:
    """Yield each page while the next one is already being fetched.

    Primero's answer and our publishing then overlap instead of alternating; the cursor still
    moves only after a page's own confirms. (The page is handed over, not kept: only one
    decoded page besides the one being fetched is alive.)
    """
    iterator = pages.__aiter__()
    upcoming: asyncio.Future[CasePage] = asyncio.ensure_future(iterator.__anext__())
    try:
        while True:
            try:
                ready = [await upcoming]
            except StopAsyncIteration:
                return
            upcoming = asyncio.ensure_future(iterator.__anext__())
            yield ready.pop()
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(BaseException):
                await upcoming
