"""A target answering 503 for a while: retries and the circuit breaker carry every command through;
each write lands exactly once and nothing is dead-lettered."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from .conftest import OSCAR_API, Pipeline, path_of
from .world import seed_reference_world

pytestmark = pytest.mark.e2e

#: More consecutive failures than BREAKER_FAILURES (5): the circuit opens and closes again.
OSCAR_FAILURES = 7
PRIMERO_FAILURES = 3


async def test_503_for_a_while_ends_with_everything_loaded_and_an_empty_dlq(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    await asyncio.to_thread(seed_reference_world, sims)
    await asyncio.to_thread(
        sims.oscar_control,
        "POST",
        "/faults",
        {  # on the writes only: the loader's feed read (GET) is not journaled
            "faults": [
                {
                    "path": f"{OSCAR_API}/*",
                    "method": method,
                    "kind": "error",
                    "status": 503,
                    "times": times,
                }
                for method, times in (("POST", 3), ("PUT", OSCAR_FAILURES - 3))
            ]
        },
    )
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")

    assert await pipeline.fetch_primero() == 6
    await pipeline.settle(timeout_s=45)
    to_oscar = await asyncio.to_thread(sims.oscar_writes)
    assert Counter(e["status"] for e in to_oscar) == {503: OSCAR_FAILURES, 200: 3}
    loaded = Counter(path_of(e) for e in to_oscar if e["status"] == 200)
    assert loaded == {
        f"{OSCAR_API}/clients/upsert": 1,
        f"{OSCAR_API}/referrals/update_statuses": 1,
        f"{OSCAR_API}/clients/update_links": 1,
    }
    referrals = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    assert len(referrals) == 2  # 1193 and exactly one new referral, despite the retries

    # The other direction: the Primero loader's first calls fail, then everything lands.
    await asyncio.to_thread(
        sims.primero_control,
        "POST",
        "/faults",
        {"kind": "error", "status": 503, "path": "/api/v2/cases*", "times": PRIMERO_FAILURES},
    )
    assert await pipeline.fetch_oscar() == 4
    await pipeline.settle(timeout_s=45)
    to_primero = await asyncio.to_thread(sims.primero_writes)
    assert to_primero
    assert {e["status"] for e in to_primero if not e.get("fault")} == {200}
    for target in ("oscar", "primero"):
        assert await pipeline.dead_letters(pipeline.loader_queue(target)) == []
