"""The loader records a case version as its own only when nobody else changed the case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import requests
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.testing.memory_control_store import MemoryControlStore
from loader.rate_limit import TokenBucket
from loader.targets.primero_own_writes import OwnWrites, stamp_of
from primero_sim.testing import RunningPrimero, running_primero

SOPHEA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"


@pytest.fixture(scope="module")
def primero() -> Iterator[RunningPrimero]:
    with running_primero(samples=True) as sim:
        yield sim


@pytest.fixture
async def client(primero: RunningPrimero) -> AsyncIterator[PrimeroClient]:
    primero.state.reset()
    primero.state.seed_samples()
    api = PrimeroClient(
        primero.base_url, user=primero.user_name, password=SecretStr(primero.password)
    )
    yield api
    await api.close()


def person_edits(primero: RunningPrimero, data: dict[str, object]) -> None:
    primero.state.clock.advance(1)
    requests.patch(
        primero.url(f"/api/v2/cases/{SOPHEA}"),
        json={"data": data},
        auth=("primero_cp", "primero-sim"),
        timeout=10,
    ).raise_for_status()


async def our_patch(primero: RunningPrimero, client: PrimeroClient) -> str | None:
    primero.state.clock.advance(1)
    return stamp_of(await client.update_case(SOPHEA, {"oscar_status": "Accepted"}))


async def test_alone_the_write_is_recorded(primero: RunningPrimero, client: PrimeroClient) -> None:
    store = MemoryControlStore()
    own = OwnWrites(client, TokenBucket(100, 100), store)
    before = await own.before(SOPHEA)
    stamp = await our_patch(primero, client)
    assert await own.settle(before, stamps=[stamp], fields=["oscar_status"]) is True
    assert SOPHEA in await store.own_writes("primero", [SOPHEA])


async def test_a_person_editing_in_between_is_never_suppressed(
    primero: RunningPrimero, client: PrimeroClient
) -> None:
    store = MemoryControlStore()
    own = OwnWrites(client, TokenBucket(100, 100), store)
    before = await own.before(SOPHEA)
    # The person's edit lands between our read and our write: our answer's version is the
    # newest, but the case holds their change too.
    await asyncio.to_thread(person_edits, primero, {"risk_level": "low"})
    stamp = await our_patch(primero, client)
    assert await own.settle(before, stamps=[stamp], fields=["oscar_status"]) is False
    assert await store.own_writes("primero", [SOPHEA]) == {}


async def test_a_person_editing_after_leaves_a_newer_version(
    primero: RunningPrimero, client: PrimeroClient
) -> None:
    store = MemoryControlStore()
    own = OwnWrites(client, TokenBucket(100, 100), store)
    before = await own.before(SOPHEA)
    stamp = await our_patch(primero, client)
    await asyncio.to_thread(person_edits, primero, {"oscar_status": "Exited"})
    assert await own.settle(before, stamps=[stamp], fields=["oscar_status"]) is False
    assert await store.own_writes("primero", [SOPHEA]) == {}
