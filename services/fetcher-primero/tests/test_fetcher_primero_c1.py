"""C1 fetch against the Primero simulator, publishing into the in-process broker."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.clients.http import Params
from casebridge.clients.primero import CasePage
from casebridge.errors import PublishNotConfirmed
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.polling import PollingService
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import transformer_queue
from casebridge.transport import ConfirmCallback, Outgoing
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.c1_cases import CURSOR, PUBLISHED_THROUGH, STAGE
from fetcher_primero.config import Settings
from fetcher_primero.watermark import parse_primero_time, primero_time
from primero_sim.testing import RunningPrimero, running_primero

PREFIX = "t"


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    # Paging and dedup logic over thousands of cases: the proxy limits would only pace the
    # referral reads to 50/s here (the traffic tests are in tests/e2e and shared/tests).
    with running_primero(proxy_limits=False) as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    return primero_server


class CountingClient(PrimeroClient):
    """Counts referral lookups; `on_page` lets a test change Primero while it is being paged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.referral_lookups: list[str] = []
        self.on_page: Any = None

    async def list_referrals(self, case_id: str) -> list[dict[str, Any]]:
        self.referral_lookups.append(case_id)
        return await super().list_referrals(case_id)

    async def list_cases(
        self, params: Params | None = None, *, page: int = 1, per: int = 1000
    ) -> CasePage:
        result = await super().list_cases(params, page=page, per=per)
        if self.on_page is not None:
            self.on_page(result)
        return result


class FlakyTransport(MemoryTransport):
    """Fails the n-th publish (1-based) until healed."""

    def __init__(self, broker: MemoryBroker, fail_at: int | None = None) -> None:
        super().__init__(broker)
        self.fail_at = fail_at
        self.count = 0

    async def publish(self, message: Outgoing) -> None:
        if self._fails_now():
            raise PublishNotConfirmed("broker closed the channel")
        await super().publish(message)

    def publish_then(self, message: Outgoing, on_done: ConfirmCallback) -> None:
        if self._fails_now():
            on_done(PublishNotConfirmed("broker closed the channel"))
            return
        super().publish_then(message, on_done)

    def _fails_now(self) -> bool:
        self.count += 1
        return self.fail_at is not None and self.count == self.fail_at


@dataclass
class Harness:
    sim: RunningPrimero
    broker: MemoryBroker
    transport: FlakyTransport
    store: MemoryControlStore
    client: CountingClient
    service: PollingService

    async def fetch(self) -> int:
        return await self.service.fetch_pass()

    def published(self) -> list[RawRecord]:
        queue = self.broker.queues[transformer_queue(PREFIX)]
        decoded = [default_registry().decode(m.body) for m in queue.messages]
        return [m for m in decoded if isinstance(m, RawRecord)]

    async def cursor(self) -> str | None:
        found = await self.store.get_cursor(CURSOR)
        return found.value if found else None


def make_harness(sim: RunningPrimero, **settings: Any) -> Harness:
    broker = MemoryBroker()
    transport = FlakyTransport(broker)
    store = MemoryControlStore()
    config = Settings(transport="memory", topology_prefix=PREFIX, **settings)
    client = CountingClient(
        sim.base_url,
        user=sim.user_name,
        password=SecretStr(sim.password),
        read_retry=config.read_retry(),
    )

    async def open_store() -> MemoryControlStore:
        return store

    service = bootstrap(config, transport=transport, client=client, open_store=open_store)
    return Harness(sim, broker, transport, store, client, service)


@pytest.fixture
async def harness(primero: RunningPrimero) -> AsyncIterator[Harness]:
    h = make_harness(primero)
    await h.service.connect()
    yield h
    await h.service.stop()


def newest(sim: RunningPrimero) -> str:
    return max(c["last_updated_at"] for c in sim.state.store.records())


def touch(sim: RunningPrimero, case_id: str, last_updated_at: str, **changes: Any) -> None:
    """Store a new version of a case as Primero would after a save."""
    record = copy.deepcopy(sim.state.store.get(case_id))
    assert record is not None
    record.update(changes, last_updated_at=last_updated_at)
    sim.state.store.put(record)


async def test_every_page_is_published_once_with_referrals(harness: Harness) -> None:
    harness.sim.state.seed_generated(2500, seed=7)
    assert await harness.fetch() == 2500
    records = harness.published()
    assert len({r.source.record_id for r in records}) == 2500
    assert {r.flow for r in records} == {"c1"}
    assert await harness.cursor() == newest(harness.sim)
    by_id = {r.source.record_id: r for r in records}
    store = harness.sim.state.store
    for case_id, referrals in store.referrals.items():
        assert {x["id"] for x in by_id[case_id].payload["referrals"]} == {
            x["id"] for x in referrals
        }
    with_services = {c["id"] for c in store.records() if c.get("services_section")}
    assert set(harness.client.referral_lookups) == with_services  # only where needed
    sample = records[0]
    assert sample.source.updated_at == parse_primero_time(sample.payload["last_updated_at"])


async def test_a_second_pass_publishes_nothing_new(harness: Harness) -> None:
    harness.sim.state.seed_generated(300, seed=3)
    assert await harness.fetch() == 300
    lookups = len(harness.client.referral_lookups)
    assert await harness.fetch() == 0
    assert len(harness.published()) == 300
    assert len(harness.client.referral_lookups) == lookups  # no referral GET for known records
    assert len(await harness.store.seen(STAGE, [r.message_id for r in harness.published()])) == 300


async def test_only_cases_at_or_before_the_published_mark_are_looked_up(harness: Harness) -> None:
    looked_up: list[str] = []
    seen = harness.store.seen

    async def recording(stage: str, message_ids: Any) -> set[str]:
        ids = list(message_ids)
        looked_up.extend(ids)
        return await seen(stage, ids)

    harness.store.seen = recording  # type: ignore[method-assign]
    harness.sim.state.seed_generated(300, seed=3)
    assert await harness.fetch() == 300
    assert looked_up == []  # nothing was published through any point yet
    mark = await harness.store.get_cursor(PUBLISHED_THROUGH)
    assert mark is not None
    assert mark.value == newest(harness.sim)

    case_id = next(iter(harness.sim.state.store.all_ids()))
    later = primero_time(parse_primero_time(newest(harness.sim)) + timedelta(minutes=10))
    touch(harness.sim, case_id, later, mosvy_number="M-2")
    assert await harness.fetch() == 1
    # The re-read overlap was looked up (and dropped); the new version was not.
    by_id = {r.message_id: r for r in harness.published()}
    assert looked_up
    assert all(by_id[m].source.updated_at <= parse_primero_time(mark.value) for m in looked_up)
    assert harness.published()[-1].message_id not in looked_up


async def test_an_update_is_published_as_a_new_version(harness: Harness) -> None:
    harness.sim.state.seed_generated(50, seed=3)
    await harness.fetch()
    case_id = next(iter(harness.sim.state.store.all_ids()))
    later = primero_time(parse_primero_time(newest(harness.sim)) + timedelta(minutes=10))
    touch(harness.sim, case_id, later, mosvy_number="M-2")
    assert await harness.fetch() == 1
    assert harness.published()[-1].source.record_id == case_id
    assert await harness.cursor() == later


async def test_same_second_and_equal_timestamps_lose_nothing_without_overlap(
    primero: RunningPrimero,
) -> None:
    h = make_harness(primero, cursor_overlap_s=0)
    await h.service.connect()
    primero.state.seed_generated(40, seed=5)
    ids = list(primero.state.store.all_ids())
    stamp = parse_primero_time(newest(primero)) + timedelta(hours=1)
    touch(primero, ids[0], primero_time(stamp.replace(microsecond=600_000)))
    assert await h.fetch() == 40
    cursor = await h.cursor()
    assert cursor == primero_time(stamp.replace(microsecond=600_000))
    # Committed late: same second as the cursor but earlier, and exactly the cursor's instant.
    touch(primero, ids[1], primero_time(stamp.replace(microsecond=100_000)))
    touch(primero, ids[2], cursor)
    assert await h.fetch() == 2
    assert {r.source.record_id for r in h.published()[-2:]} == {ids[1], ids[2]}
    assert await h.fetch() == 0
    await h.service.stop()


async def test_late_commit_inside_the_overlap_window_is_caught(harness: Harness) -> None:
    harness.sim.state.seed_generated(40, seed=5)
    await harness.fetch()
    case_id = next(iter(harness.sim.state.store.all_ids()))
    skewed = parse_primero_time(newest(harness.sim)) - timedelta(minutes=2)
    touch(harness.sim, case_id, primero_time(skewed), mosvy_number="M-3")
    assert await harness.fetch() == 1
    assert harness.published()[-1].source.record_id == case_id


async def test_cursor_stays_until_every_record_of_the_page_is_confirmed(harness: Harness) -> None:
    harness.sim.state.seed_generated(2500, seed=7)
    harness.transport.fail_at = 1500  # a record of page 2
    with pytest.raises(PublishNotConfirmed):
        await harness.fetch()
    page1_max = sorted(c["last_updated_at"] for c in harness.sim.state.store.records())[999]
    assert [w for w in harness.store.cursor_writes if w[0] == CURSOR] == [(CURSOR, page1_max)]
    harness.transport.fail_at = None
    await harness.fetch()
    assert {r.source.record_id for r in harness.published()} == set(
        harness.sim.state.store.all_ids()
    )
    assert await harness.cursor() == newest(harness.sim)


async def test_first_pass_cursor_unchanged_when_the_first_page_fails(harness: Harness) -> None:
    harness.sim.state.seed_generated(20, seed=7)
    harness.transport.fail_at = 3
    with pytest.raises(PublishNotConfirmed):
        await harness.fetch()
    assert await harness.cursor() is None
    assert harness.store.processed.get(STAGE, set()) == set()


async def test_a_case_moved_while_paging_does_not_hide_its_neighbour(harness: Harness) -> None:
    harness.sim.state.seed_generated(2500, seed=7)
    later = primero_time(parse_primero_time(newest(harness.sim)) + timedelta(minutes=1))
    moved: list[str] = []

    def move_one(page: CasePage) -> None:
        if page.page == 1 and not moved and page.records:
            moved.append(page.records[0]["id"])
            touch(harness.sim, page.records[0]["id"], later)

    harness.client.on_page = move_one
    await harness.fetch()
    assert {r.source.record_id for r in harness.published()} == set(
        harness.sim.state.store.all_ids()
    )
    versions = [r for r in harness.published() if r.source.record_id == moved[0]]
    assert len(versions) == 2  # the old and the new version, each once


async def test_a_failed_read_is_retried_alone_and_nothing_is_published_twice(
    primero: RunningPrimero,
) -> None:
    primero.state.seed_generated(500, seed=7)
    # Primero's proxy answers some reads with its 503 page (seeded, so the same ones each run).
    faults = primero.state.faults
    faults.add({"kind": "error", "status": 503, "path": "/api/v2/cases", "probability": 0.4})
    faults.add(
        {"kind": "error", "status": 503, "path": "/api/v2/cases/*/referrals", "probability": 0.1}
    )
    h = make_harness(primero, page_size=100, read_attempts=8, read_backoff_s=0.01)
    pages: list[int] = []
    h.client.on_page = lambda result: pages.append(result.page)
    await h.service.connect()
    try:
        assert await h.fetch() == 500
    finally:
        await h.service.stop()
    assert all(f.fired > 0 for f in faults.entries())  # both kinds of read did fail
    assert pages == [1, 2, 3, 4, 5, 6]  # each page handed over once: only failed reads repeat
    records = h.published()
    assert len(records) == len({r.source.record_id for r in records}) == 500


def test_a_v1_slash_timestamp_is_a_version_read_as_utc() -> None:
    assert primero_time(parse_primero_time("2020/07/05 00:40:00")) == "2020-07-05T00:40:00.000Z"
    assert primero_time(parse_primero_time("2020/08/24 13:17:05 +0100")) == (
        "2020-08-24T12:17:05.000Z"
    )
    with pytest.raises(ValueError, match="yesterday"):
        parse_primero_time("yesterday")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_a_tie_group_across_page_edges_is_read_whole(
    primero: RunningPrimero, seed: int
) -> None:
    # Primero's sort has no tiebreaker: 45 cases saved in the same millisecond (a bulk import)
    # straddle the edges of pages of 10, and each page's query may order them differently.
    primero.state.ties.reseed(seed)
    primero.state.seed_generated(60, seed=seed)
    same = "2025-06-01T08:00:00.123Z"
    ids = sorted(primero.state.store.all_ids())
    for case_id in ids[:45]:
        touch(primero, case_id, same)
    h = make_harness(primero, page_size=10)
    await h.service.connect()
    try:
        assert await h.fetch() == 60
        published = Counter(r.source.record_id for r in h.published())
        assert set(published) == set(ids), "a case of the tie group was never read"
        assert max(published.values()) == 1
    finally:
        await h.service.stop()
