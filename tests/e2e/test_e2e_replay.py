"""The operate loop: OSCaR refuses a C1 write (422), the loader dead-letters it; OSCaR is repaired
(the fault removed) and `casebridge dlq replay` brings the record into OSCaR, exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from .conftest import OSCAR_API, UPSERT, Pipeline, casebridge, path_of
from .world import seed_reference_world

pytestmark = pytest.mark.e2e


async def test_a_refused_record_is_replayed_into_the_repaired_target_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sims = pipeline.sims
    monkeypatch.setenv("RABBITMQ_URL", pipeline.rabbitmq_url)
    monkeypatch.setenv("TOPOLOGY_PREFIX", pipeline.prefix)
    # One control database for the loader and the admin, as deployed (`--resend` needs it).
    monkeypatch.setenv("CONTROL_DATABASE_URL", pipeline.store_url("loader-oscar"))
    monkeypatch.setenv("RETRY_DELAYS_S", json.dumps(list(pipeline.topology.work_queues[
        pipeline.transformer_queue].retry_delays)))  # fmt: skip
    monkeypatch.setenv("CASEBRIDGE_ACTOR", "ops@mosvy")
    await asyncio.to_thread(seed_reference_world, sims)
    # OSCaR refuses every client upsert until repaired.
    await asyncio.to_thread(
        sims.oscar_control,
        "POST",
        "/faults",
        {"path": UPSERT, "kind": "error", "status": 422},
    )
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")

    assert await pipeline.fetch_primero() == 6
    await pipeline.settle(timeout_s=45)
    refused = [e for e in await asyncio.to_thread(sims.oscar_writes) if path_of(e) == UPSERT]
    assert [e["status"] for e in refused] == [422]
    oscar_dlq = f"{pipeline.loader_queue('oscar')}.dlq"
    assert await asyncio.to_thread(pipeline.broker.probe.depth, oscar_dlq) == 1

    # The admin looks (metadata only: the child's name is not shown), then repairs and replays.
    code, listed = await asyncio.to_thread(
        casebridge, capsys, "dlq", "list", "--queue", "loader.oscar", "--json"
    )
    assert code == 0
    [letter] = json.loads(listed)
    assert letter["queue"] == pipeline.loader_queue("oscar")
    assert letter["error_class"] == "HttpStatusError"
    assert "422" in letter["reason"]
    # A known child's upsert: OSCaR may save the referral before a 422, so the reason says how
    # to send it again once the admin has checked OSCaR (a plain replay would be refused).
    assert "--resend" in letter["reason"]
    assert "Tikwiza" not in listed
    await asyncio.to_thread(sims.oscar_control, "DELETE", "/faults")
    code, out = await asyncio.to_thread(
        casebridge, capsys, "dlq", "replay", letter["message_id"], "--resend"
    )
    assert code == 0, out
    assert "replayed 1, refused 0" in out
    await pipeline.settle(timeout_s=45)

    writes = await asyncio.to_thread(sims.oscar_writes)
    upserts = [e for e in writes if path_of(e) == UPSERT]
    assert [e["status"] for e in upserts] == [422, 200]  # in once, after the repair
    assert Counter(path_of(e) for e in writes if e["status"] == 200)[UPSERT] == 1
    assert all(path_of(e).startswith(OSCAR_API) for e in writes)
    assert await pipeline.dead_letters(pipeline.loader_queue("oscar")) == []
    referrals = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    assert len(referrals) == 2  # 1193 and the replayed referral, once

    # A second replay finds nothing: the record is not written twice.
    code, out = await asyncio.to_thread(
        casebridge, capsys, "dlq", "replay", "--filter", "--queue", "loader.oscar"
    )
    assert "replayed 0" in out
    await pipeline.settle()
    assert len([e for e in await asyncio.to_thread(sims.oscar_writes) if path_of(e) == UPSERT]) == 2

    from casebridge.control import open_control_store

    store = await open_control_store(pipeline.store_url("loader-oscar"))
    try:
        audit = await store.audit_log()
    finally:
        await store.close()
    assert [(a.actor, a.action, a.count) for a in audit] == [
        ("ops@mosvy", "dlq.list", 1),  # reading the DLQ is audited too (metadata only)
        ("ops@mosvy", "dlq.replay", 1),
        ("ops@mosvy", "dlq.replay", 0),
    ]
