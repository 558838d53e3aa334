"""fetcher-oscar against the OSCaR simulator, publishing into the in-process broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from prometheus_client import REGISTRY
from pydantic import SecretStr

from casebridge.clients import OscarClient
from casebridge.errors import PublishNotConfirmed
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.polling import PollingService
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import transformer_queue
from casebridge.transport import Outgoing
from fetcher_oscar.bootstrap import bootstrap
from fetcher_oscar.clients_feed import CURSOR
from fetcher_oscar.config import Settings
from oscar_sim.testing import RunningOscar, running_oscar

PREFIX = "t"
DAY = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def oscar_server() -> Iterator[RunningOscar]:
    with running_oscar() as sim:
        yield sim


def control(sim: RunningOscar, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{sim.url}/__sim{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def at(hour: int, minute: int, second: int, day: int = 0) -> datetime:
    return DAY.replace(day=DAY.day + day, hour=hour, minute=minute, second=second)


@pytest.fixture
def oscar(oscar_server: RunningOscar) -> RunningOscar:
    control(oscar_server, "POST", "/reset")
    control(oscar_server, "POST", "/seed", {"source": "samples"})
    return oscar_server


class RecordingClient(OscarClient):
    """Remembers every since_date it was asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[Any] = []

    async def list_clients(self, since_date: Any = None, *, end_date: Any = None) -> Any:
        self.asked.append(since_date)
        return await super().list_clients(since_date, end_date=end_date)


class FlakyTransport(MemoryTransport):
    def __init__(self, broker: MemoryBroker) -> None:
        super().__init__(broker)
        self.fail = False

    async def publish(self, message: Outgoing) -> None:
        if self.fail:
            raise PublishNotConfirmed("broker closed the channel")
        await super().publish(message)


@dataclass
class Harness:
    broker: MemoryBroker
    transport: FlakyTransport
    store: MemoryControlStore
    client: RecordingClient
    service: PollingService
    now: list[datetime]

    def published(self) -> list[RawRecord]:
        queue = self.broker.queues[transformer_queue(PREFIX)]
        decoded = [default_registry().decode(m.body) for m in queue.messages]
        return [m for m in decoded if isinstance(m, RawRecord)]


@pytest.fixture
async def harness(oscar: RunningOscar) -> Any:
    broker = MemoryBroker()
    transport = FlakyTransport(broker)
    store = MemoryControlStore()
    client = RecordingClient(oscar.url, user=oscar.email, password=SecretStr(oscar.password))
    now = [at(23, 30, 0)]

    async def open_store() -> MemoryControlStore:
        return store

    service = bootstrap(
        Settings(transport="memory", topology_prefix=PREFIX, oscar_start_date="2026-03-01"),
        transport=transport,
        client=client,
        open_store=open_store,
        clock=lambda: now[0],
    )
    await service.connect()
    yield Harness(broker, transport, store, client, service, now)
    await service.stop()


async def test_every_client_is_published_for_c2_and_c0(harness: Harness) -> None:
    assert await harness.service.fetch_pass() == 10
    records = harness.published()
    assert sorted(r.flow for r in records) == ["c0"] * 5 + ["c2"] * 5
    by_flow = {f: {r.source.record_id for r in records if r.flow == f} for f in ("c0", "c2")}
    assert by_flow["c0"] == by_flow["c2"]
    assert "01EHAZ3XN6DJX0GQGR8R5KV7AZ" in by_flow["c2"]  # referred shape
    assert "01E6AT3BEAFMQDVBHTJHZZ8Y00" in by_flow["c2"]  # shared shape
    assert {r.source.system for r in records} == {"oscar"}
    assert {r.source.record_type for r in records} == {"client"}
    assert harness.client.asked == [date(2026, 3, 1)]
    assert harness.client.sign_ins == 1


async def test_a_second_pass_publishes_nothing_new_and_reuses_the_token(
    harness: Harness,
) -> None:
    await harness.service.fetch_pass()
    harness.now[0] = at(23, 40, 0)
    assert await harness.service.fetch_pass() == 0
    assert len(harness.published()) == 10
    assert harness.client.sign_ins == 1


async def test_a_client_changed_just_before_midnight_is_not_lost(
    harness: Harness, oscar: RunningOscar
) -> None:
    harness.now[0] = at(23, 59, 58)
    await harness.service.fetch_pass()
    # Changed at 23:59:59, after the pass read the feed; the next pass runs after midnight.
    late = {
        "given_name": "Late",
        "family_name": "Client",
        "gender": "female",
        "date_of_birth": "2015-01-01",
        "global_id": "01JLATECLIENT0000000000000",
        "organization_name": "cif",
        "referred_external": False,
        "updated_at": at(23, 59, 59).isoformat(),
        "created_at": at(23, 59, 59).isoformat(),
    }
    control(oscar, "POST", "/seed", {"source": "records", "records": [late]})
    harness.now[0] = at(0, 0, 30, day=1)
    # Rounding the cursor to the day the pass ran (what a midnight-rounded cursor does) misses it.
    assert all(
        c["global_id"] != late["global_id"]
        for c in await harness.client.list_clients(date(2026, 3, 11))
    )
    assert await harness.service.fetch_pass() == 2
    assert harness.client.asked[-1] == date(2026, 3, 10)
    assert {(r.flow, r.source.record_id) for r in harness.published()[-2:]} == {
        ("c2", late["global_id"]),
        ("c0", late["global_id"]),
    }


async def test_an_update_is_published_again(harness: Harness, oscar: RunningOscar) -> None:
    await harness.service.fetch_pass()
    global_id = "01E6AT3BEAFMQDVBHTJHZZ8Y00"
    await harness.client.update_links(
        {"data": [{"global_id": global_id, "external_id": "c-9", "external_id_display": "9"}]}
    )
    harness.now[0] = at(23, 45, 0)
    assert await harness.service.fetch_pass() == 2
    newest = harness.published()[-2:]
    assert {r.source.record_id for r in newest} == {global_id}
    assert {r.payload["external_id"] for r in newest} == {"c-9"}


async def test_cursor_is_not_advanced_when_a_publish_fails(harness: Harness) -> None:
    harness.transport.fail = True
    with pytest.raises(PublishNotConfirmed):
        await harness.service.fetch_pass()
    assert await harness.store.get_cursor(CURSOR) is None
    harness.transport.fail = False
    assert await harness.service.fetch_pass() == 10
    cursor = await harness.store.get_cursor(CURSOR)
    assert cursor is not None
    assert cursor.value == "2026-03-10T23:25:00+00:00"  # pass start minus the 5 min overlap


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_pass_reports_its_time_records_and_cursor_lag(harness: Harness) -> None:
    flow = {"flow": "c0+c2"}
    passes = _sample("casebridge_fetch_pass_seconds_count", **flow, outcome="ok")
    failed = _sample("casebridge_fetch_pass_seconds_count", **flow, outcome="failed")
    fetched = _sample("casebridge_fetch_records_total", **flow, stage="fetched")
    published = _sample("casebridge_fetch_records_total", **flow, stage="published")
    harness.transport.fail = True
    with pytest.raises(PublishNotConfirmed):
        await harness.service.fetch_pass()
    assert _sample("casebridge_fetch_pass_seconds_count", **flow, outcome="failed") == failed + 1
    harness.transport.fail = False
    before = time.time()
    assert await harness.service.fetch_pass() == 10

    assert _sample("casebridge_fetch_pass_seconds_count", **flow, outcome="ok") == passes + 1
    assert _sample("casebridge_fetch_records_total", **flow, stage="fetched") == fetched + 10
    assert _sample("casebridge_fetch_records_total", **flow, stage="published") == published + 10
    last = _sample("casebridge_fetch_last_success_timestamp_seconds", **flow)
    assert before <= last <= time.time()
    # The cursor is the pass start (the injected clock) minus the overlap.
    lag = _sample("casebridge_fetch_cursor_lag_seconds", cursor=CURSOR)
    assert lag == pytest.approx(time.time() - at(23, 25, 0).timestamp(), abs=5)
