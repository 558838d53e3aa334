"""Fetching again sends nothing new to either simulator: the fetchers' cursors and seen ids stop
the plain re-run, and the loaders' processed-message record stops a full re-publish (the
fetchers' control stores deleted, as an admin resetting the cursors would). The loaders' control
store is SQLite files, then PostgreSQL (as deployed)."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Pipeline
from .world import seed_reference_world

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("loader_store", ["sqlite", "postgres"])
async def test_a_second_run_sends_nothing_new_to_either_simulator(
    pipeline: Pipeline, loader_store: str, request: pytest.FixtureRequest
) -> None:
    if loader_store == "postgres":
        pipeline.loader_store = request.getfixturevalue("fresh_postgres")
    sims = pipeline.sims
    await asyncio.to_thread(seed_reference_world, sims)
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")

    # C1: Primero -> OSCaR, then again, then again from scratch.
    assert await pipeline.fetch_primero() == 6
    await pipeline.settle()
    to_oscar = await asyncio.to_thread(sims.oscar_writes)
    assert len(to_oscar) == 3
    assert await pipeline.fetch_primero() == 0
    pipeline.forget("fetcher-primero")
    assert await pipeline.fetch_primero() == 6  # the same records, the same message ids
    await pipeline.settle()
    assert await asyncio.to_thread(sims.oscar_writes) == to_oscar

    # C2 and C0: OSCaR -> Primero (two clients, one raw record per flow), the same way.
    assert await pipeline.fetch_oscar() == 4
    await pipeline.settle()
    to_primero = await asyncio.to_thread(sims.primero_writes)
    assert to_primero, "C2/C0 wrote nothing to Primero"
    assert {w["status"] for w in to_primero} == {200}
    assert await pipeline.fetch_oscar() == 0
    pipeline.forget("fetcher-oscar")
    assert await pipeline.fetch_oscar() == 4
    await pipeline.settle()
    assert await asyncio.to_thread(sims.primero_writes) == to_primero
    assert await asyncio.to_thread(sims.oscar_writes) == to_oscar

    for target in ("oscar", "primero"):
        assert await pipeline.dead_letters(pipeline.loader_queue(target)) == []
