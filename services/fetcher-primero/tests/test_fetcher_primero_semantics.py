"""Primero semantics the fetcher must survive: its own writes' echo, a role that drops filters,
a role without the users permission (configuration problems, logged once)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from pydantic import SecretStr
from structlog.testing import capture_logs

from casebridge.errors import ConfigurationProblem
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import transformer_queue
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import Settings
from fetcher_primero.watermark import parse_primero_time
from primero_sim.testing import RunningPrimero, running_primero

PREFIX = "ts"
SOPHEA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"
SOPHEA_REFERRAL = "8e72817c-74e6-4df2-b96d-d4bcde47f292"


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero() as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    primero_server.state.seed_samples()
    return primero_server


@dataclass
class Fetcher:
    sim: RunningPrimero
    broker: MemoryBroker
    store: MemoryControlStore
    flows: str

    async def run(self) -> int:
        """One pass of a fresh fetcher process over the same broker and store."""

        async def open_store() -> MemoryControlStore:
            return self.store

        settings = Settings(
            transport="memory",
            topology_prefix=PREFIX,
            primero_url=self.sim.base_url,
            primero_user=self.sim.user_name,
            primero_password=SecretStr(self.sim.password),
            fetch_flows=self.flows,
            health_port=0,
        )
        service = bootstrap(settings, transport=MemoryTransport(self.broker), open_store=open_store)
        await service.connect()
        try:
            return await service.fetch_pass()
        finally:
            await service.stop()

    def depth(self) -> int:
        return len(self.broker.queues[transformer_queue(PREFIX)].messages)


@pytest.fixture
def fetcher(primero: RunningPrimero) -> Fetcher:
    return Fetcher(primero, MemoryBroker(), MemoryControlStore(), "c1")


def accept(sim: RunningPrimero) -> str:
    """A decision as the loader makes it; returns the case version its answer carries."""
    case = dict(sim.state.store.get(SOPHEA) or {})
    sim.state.store.put({**case, "consent_for_services": True, "disclosure_other_orgs": True})
    sim.state.clock.advance(2)
    answer = requests.patch(
        sim.url(f"/api/v2/cases/{SOPHEA}/referrals/{SOPHEA_REFERRAL}"),
        json={"data": {"status": "accepted"}},
        auth=sim.auth,
        timeout=10,
    )
    answer.raise_for_status()
    stamp: str = answer.json()["data"]["record"]["last_updated_at"]
    return stamp


def edit_as_a_person(sim: RunningPrimero) -> None:
    sim.state.clock.advance(2)
    person = requests.patch(
        sim.url(f"/api/v2/cases/{SOPHEA}"),
        json={"data": {"protection_concerns": ["unaccompanied"]}},
        auth=("primero_cp", "primero-sim"),
        timeout=10,
    )
    person.raise_for_status()


async def test_without_a_record_of_our_write_the_decision_is_published_again(
    fetcher: Fetcher,
) -> None:
    """Before: the decision's re-save of the case is one more publish on the next pass."""
    assert await fetcher.run() == len(fetcher.sim.state.store)
    accept(fetcher.sim)
    assert await fetcher.run() == 1


async def test_a_recorded_own_write_is_not_published_and_a_later_edit_is(
    fetcher: Fetcher,
) -> None:
    """After: 0 publishes for our own version; a person's edit afterwards is published."""
    first = await fetcher.run()
    stamp = accept(fetcher.sim)
    await fetcher.store.record_own_write("primero", SOPHEA, parse_primero_time(stamp))
    assert await fetcher.run() == 0
    assert fetcher.depth() == first
    edit_as_a_person(fetcher.sim)
    assert await fetcher.run() == 1


async def test_p3_without_the_users_permission_is_a_configuration_problem_logged_once(
    primero: RunningPrimero,
) -> None:
    primero.state.directory.get(primero.user_name).can_index_users = False
    fetcher = Fetcher(primero, MemoryBroker(), MemoryControlStore(), "p3")
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(ConfigurationProblem, match="/api/v2/users answered 403"):
                await fetcher.run()
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["fetch_configuration_problem"]
    [problem] = await fetcher.store.list_problems()
    assert problem.source == "fetcher-primero:p3"
    assert problem.count == 3
    assert ":index, User" in problem.reason
    assert fetcher.depth() == 0
    primero.state.directory.get(primero.user_name).can_index_users = True
    assert await fetcher.run() > 0
    assert await fetcher.store.list_problems() == []


async def test_o1_query_a_stops_when_primero_dropped_its_filter(primero: RunningPrimero) -> None:
    user = primero.state.directory.get(primero.user_name)
    user.unreadable_fields = frozenset({"type_of_case"})
    fetcher = Fetcher(primero, MemoryBroker(), MemoryControlStore(), "o1")
    with pytest.raises(ConfigurationProblem) as caught:
        await fetcher.run()
    assert str(caught.value) == (
        "Primero ignored the filter on type_of_case: the API user's role cannot read that field"
    )
    assert fetcher.depth() == 0
    assert await fetcher.store.get_cursor("primero:o1-4.8") is None
    [problem] = await fetcher.store.list_problems()
    assert problem.source == "fetcher-primero:o1"
