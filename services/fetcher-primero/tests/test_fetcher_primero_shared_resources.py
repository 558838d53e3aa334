"""Every flow's query of one fetcher shares one control store and one Primero client."""

from __future__ import annotations

from casebridge.memory import MemoryTransport
from casebridge.testing.memory_control_store import MemoryControlStore
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import Settings
from primero_sim.testing import running_primero


async def test_all_flows_open_the_control_store_once_and_log_in_once():
    opened: list[MemoryControlStore] = []

    async def open_store() -> MemoryControlStore:
        store = MemoryControlStore()
        opened.append(store)
        return store

    with running_primero(samples=True, auth_regime="jwt") as sim:
        settings = Settings(
            transport="memory",
            topology_prefix="shared",
            fetch_flows="c1,o1,p2,p3",
            primero_url=sim.base_url,
            primero_user=sim.user_name,
            primero_password=sim.password,
            primero_auth="jwt",
        )
        service = bootstrap(settings, transport=MemoryTransport(), open_store=open_store)
        published = await service.run_once()
        logins = [w for w in sim.state.journal.entries() if w.path == "/api/v2/tokens"]

    assert published > 0
    assert len(opened) == 1, "one store for every flow's query"
    assert len(logins) == 1, "one client, so one login, for every flow's query"
    assert opened[0].closed
