"""O1 queries (ONA indicators 4.8 and 4.11a) against the Primero simulator, into the in-process
broker: every page read with the window, both queries deduped, incremental, full re-sync."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.clients.http import Params
from casebridge.clients.primero import CasePage
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import transformer_queue
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import Settings
from fetcher_primero.o1_cases import QUERY_4_8, QUERY_4_11A
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
