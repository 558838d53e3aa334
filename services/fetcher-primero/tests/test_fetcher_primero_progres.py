"""P2/P3 fetch against the Primero simulator (reference samples), into the in-process broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import transformer_queue
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import Settings
from primero_sim.testing import RunningPrimero, running_primero

PREFIX = "tp"


@pytest.fixture(scope="module")
def primero() -> Iterator[RunningPrimero]:
    with running_primero(samples=True) as sim:
        yield sim


def published(broker: MemoryBroker) -> list[RawRecord]:
    registry = default_registry()
    out = []
    for stored in broker.queues[transformer_queue(PREFIX)].messages:
        message = registry.decode(stored.body)
        assert isinstance(message, RawRecord)
        out.append(message)
    return out


async def test_p2_and_p3_page_everything_select_enrich_and_publish_once(
    primero: RunningPrimero,
) -> None:
    broker = MemoryBroker()
    store = MemoryControlStore()

    async def open_store() -> MemoryControlStore:
        return store

    settings = Settings(
        transport="memory",
        topology_prefix=PREFIX,
        primero_url=primero.base_url,
        primero_user=primero.user_name,
        primero_password=SecretStr(primero.password),
        fetch_flows="p2,p3",
        page_size=2,
        health_port=0,
    )
    assert len(primero.state.store) > 2  # more than one page

    service = bootstrap(settings, transport=MemoryTransport(broker), open_store=open_store)
    first = await service.run_once()
    service = bootstrap(settings, transport=MemoryTransport(broker), open_store=open_store)
    second = await service.run_once()

    records = published(broker)
    assert second == 0
    assert first == len(records)
    by_flow = {(r.flow, r.payload.get("case_id")) for r in records}
    assert ("p2", "b30cba6b-8d97-4524-b77f-a8f50cfcc974") in by_flow
    assert ("p3", "234bbac3-7278-430a-98b5-1abc460671ec") in by_flow
    [p3] = [
        r for r in records if r.payload.get("case_id") == "234bbac3-7278-430a-98b5-1abc460671ec"
    ]
    assert isinstance(p3.payload["referrals"], list)
    assert p3.payload["user"]["user_name"] == "primero_cp"
    assert set(p3.payload["user"]) <= {"user_name", "full_name", "position", "email", "phone"}
    assert {c.name for c in await store.list_cursors()} == {"primero:p2-cases", "primero:p3-cases"}
    for record in records:
        rows = record.payload.get("services_section") or []
        if record.flow == "p2":
            assert any(r.get("unhcr_referral_status") in ("accepted", "rejected") for r in rows)
        else:
            assert any(r.get("service_implementing_agency") == "UNHCR" for r in rows)
