"""O1 queries (ONA indicators 4.8 and 4.11a) against the Primero simulator, into the in-process
broker: every page read with the window, both queries deduped, incremental, full re-sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.clients.http import Params
from casebridge.clients.primero import CasePage
from casebridge.errors import PublishNotConfirmed
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import MessageRegistry, RawRecord, default_registry
from casebridge.publishing import MessagePublisher
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import build_topology, transformer_queue
from casebridge.transport import Outgoing
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.case_record import CaseRecordEncoder, case_record
from fetcher_primero.config import Settings
from fetcher_primero.met_filter import MetFilter
from fetcher_primero.o1_cases import QUERY_4_8, QUERY_4_11A, _selects
from fetcher_primero.watermark import parse_primero_time
from primero_sim.testing import RunningPrimero, running_primero

PREFIX = "t"
REINTEGRATION = "children_undergoing_reintegration_55427"


class SpyClient(PrimeroClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[dict[str, Any], int]] = []

    async def list_cases(
        self, params: Params | None = None, *, page: int = 1, per: int = 1000
    ) -> CasePage:
        self.calls.append((dict(params or {}), page))
        return await super().list_cases(params, page=page, per=per)


@pytest.fixture(scope="module")
def primero() -> Iterator[RunningPrimero]:
    with running_primero(cases=600, seed=5) as sim:
        yield sim


def expected_ids(sim: RunningPrimero) -> set[str]:
    """Cases either indicator selects (record_state true; reintegration, or age 0..18)."""
    found = set()
    for case in sim.state.store.records():
        if case.get("record_state") is False:
            continue
        age = case.get("age")
        child = isinstance(age, int) and 0 <= age <= 18
        if case.get("type_of_case") == REINTEGRATION or child:
            found.add(str(case["id"]))
    return found


def harness(
    sim: RunningPrimero, store: MemoryControlStore, broker: MemoryBroker, **settings: Any
) -> tuple[Any, SpyClient]:
    client = SpyClient(sim.base_url, user=sim.user_name, password=SecretStr(sim.password))

    async def open_store() -> MemoryControlStore:
        return store

    config = Settings(
        transport="memory", topology_prefix=PREFIX, fetch_flows="o1", page_size=50, **settings
    )
    service = bootstrap(
        config, transport=MemoryTransport(broker), client=client, open_store=open_store
    )
    return service, client


def published(broker: MemoryBroker) -> list[RawRecord]:
    queue = broker.queues[transformer_queue(PREFIX)]
    decoded = [default_registry().decode(m.body) for m in queue.messages]
    return [m for m in decoded if isinstance(m, RawRecord)]


async def test_o1_pages_both_queries_with_the_window_on_every_page(
    primero: RunningPrimero,
) -> None:
    store, broker = MemoryControlStore(), MemoryBroker()
    service, client = harness(primero, store, broker)
    await service.connect()
    try:
        count = await service.fetch_pass()
        records = published(broker)
        wanted = expected_ids(primero)
        assert len(wanted) > 100
        assert count == len(records) == len(wanted)
        assert {r.source.record_id for r in records} == wanted  # each case once, A or B
        assert {r.flow for r in records} == {"o1"}
        assert {r.query for r in records} == {QUERY_4_8.cursor, QUERY_4_11A.cursor}
        pages = {p for _, p in client.calls}
        assert max(pages) > 2  # really paged
        assert all(params.get("last_updated_at", "").endswith("..") for params, _ in client.calls)
        assert {params.get("age") for params, _ in client.calls} == {None, "0..18"}
        for query in (QUERY_4_8, QUERY_4_11A):
            assert await store.get_cursor(query.cursor) is not None
        # Incremental: nothing new, nothing published.
        assert await service.fetch_pass() == 0
    finally:
        await service.stop()


async def test_full_resync_republishes_everything_once(primero: RunningPrimero) -> None:
    store, broker = MemoryControlStore(), MemoryBroker()
    service, _ = harness(primero, store, broker)
    await service.connect()
    first = await service.fetch_pass()
    await service.stop()
    full, _ = harness(primero, store, broker, o1_full_resync=True)
    await full.connect()
    try:
        assert await full.fetch_pass() == first
        ids = [r.source.record_id for r in published(broker)]
        assert len(ids) == 2 * first
        assert len(set(ids)) == first
    finally:
        await full.stop()


async def test_o1_keeps_no_row_per_case_and_never_moves_a_cursor_back(
    primero: RunningPrimero,
) -> None:
    """Only the overlap tail is remembered (not every case); a full re-sync, reading from the
    start, leaves the cursors where they were."""
    store, broker = MemoryControlStore(), MemoryBroker()
    service, _ = harness(primero, store, broker)
    await service.connect()
    try:
        count = await service.fetch_pass()
    finally:
        await service.stop()
    remembered = store.processed.get("fetcher-primero", set())
    assert 0 < len(remembered) < count // 4
    cursors = {q.cursor: await store.get_cursor(q.cursor) for q in (QUERY_4_8, QUERY_4_11A)}
    full, _ = harness(primero, store, broker, o1_full_resync=True)
    await full.connect()
    try:
        assert await full.fetch_pass() == count
    finally:
        await full.stop()
    for name, before in cursors.items():
        after = await store.get_cursor(name)
        assert before is not None
        assert after is not None
        assert after.value == before.value


def test_query_b_leaves_to_query_a_exactly_what_a_selects() -> None:
    """The stateless cross-query dedup: exact values, any-of, booleans; ranges never skip."""
    a = QUERY_4_8.params
    reintegration = {"record_state": True, "type_of_case": REINTEGRATION}
    assert _selects(a, reintegration)
    assert not _selects(a, {**reintegration, "record_state": False})
    assert not _selects(a, {**reintegration, "record_state": "true"})
    assert not _selects(a, {"record_state": True, "type_of_case": "other_1"})
    assert not _selects(a, {"record_state": True})
    assert _selects({"type_of_case": f"x,{REINTEGRATION}"}, reintegration)
    assert _selects({"age": "12"}, {"age": 12})
    assert not _selects({"age": "12"}, {"age": True})
    assert not _selects(QUERY_4_11A.params, {"record_state": True, "age": 10})  # a range


def test_met_filter_has_no_false_negatives_and_few_false_positives() -> None:
    met = MetFilter()
    ids = [str(uuid.uuid4()) for _ in range(100_000)]
    for key in ids:
        met.add(key)
    assert all(met.maybe_met(key) for key in ids)
    others = [str(uuid.uuid4()) for _ in range(20_000)]
    assert sum(met.maybe_met(key) for key in others) <= 2
    met.clear()
    assert not any(met.maybe_met(key) for key in ids[:1000])


@pytest.mark.parametrize("stamp", ["2025-03-20T10:02:11.514Z", "2025-03-20T10:02:11Z", None])
def test_encoded_case_record_is_byte_for_byte_the_model_encoding(stamp: str | None) -> None:
    case: dict[str, Any] = {
        "id": "9b1c",
        "case_id_display": "abc123",
        "services_section": [{"unique_id": "s1", "service_type": "x", "n": 1.5, "ok": None}],
    }
    if stamp:
        case["last_updated_at"] = stamp
    model = case_record(case, flow="o1", query=QUERY_4_8.cursor)
    encoder = CaseRecordEncoder(flow="o1", query=QUERY_4_8.cursor, exchange="x", routing_key="k")
    updated = parse_primero_time(stamp) if stamp else None
    out = encoder.encode(case, updated, model.produced_at)
    assert out.body == MessageRegistry.encode(model)
    assert out.message_id == model.message_id
    assert out.correlation_id == model.correlation_id
    assert out.message_type == "raw-record"
    assert default_registry().decode(out.body) == model


async def test_publish_encoded_settles_once_all_confirmed_and_reports_a_failure() -> None:
    broker = MemoryBroker()
    transport = MemoryTransport(broker)
    topology = build_topology(PREFIX)
    await transport.connect()
    await transport.declare(topology)
    publisher = MessagePublisher(transport, topology)
    raw = case_record({"id": "1", "last_updated_at": "2025-01-01T00:00:00Z"}, flow="o1", query="q")
    exchange, key = publisher.route(raw)
    encoder = CaseRecordEncoder(flow="o1", query="q", exchange=exchange, routing_key=key)
    now = datetime.now(UTC)
    batch = [encoder.encode({"id": str(i)}, now, now) for i in range(5)]
    await publisher.publish_encoded(batch)
    assert len(broker.queues[transformer_queue(PREFIX)].messages) == 5
    await publisher.publish_encoded([])
    lost = Outgoing(exchange="no-such-exchange", routing_key=key, body=b"{}")
    with pytest.raises(PublishNotConfirmed):
        await publisher.publish_encoded([*batch[:2], lost])
