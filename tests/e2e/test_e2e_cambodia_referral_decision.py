"""The round trip: a Primero referral goes to OSCaR (C1), the NGO accepts one child and exits the
other (the OSCaR simulator's intake control call), and the decisions come back (C2
`referral_decision`): the Primero referral and its service carry the outcome."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import UPSERT, Pipeline, path_of
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

ACCEPTED_SERVICE = "7b2e3d4c-0000-4000-8000-000000000001"
EXITED_SERVICE = "7b2e3d4c-0000-4000-8000-000000000002"


async def test_the_ngo_decision_updates_the_primero_referral_and_service(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    plan = {
        ACCEPTED_SERVICE: ("Sophea", "social_work_case_work_community", "Accepted"),
        EXITED_SERVICE: ("Bopha", "family_based_care_emergency_foster", "Exited"),
    }
    records: dict[str, str] = {}
    for service_id, (name, subtype, _) in plan.items():
        case = referral_to_oscar_case(name=name, service_id=service_id, subtype=subtype)
        records[service_id] = await asyncio.to_thread(sims.create_case, case)
        await asyncio.to_thread(sims.refer, records[service_id], service_id, f"refer {name}")
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")

    # C1: both referrals reach OSCaR as new referrals (no OSCaR id yet).
    assert await pipeline.fetch_primero() == 2
    await pipeline.settle()
    upserts = [e for e in await asyncio.to_thread(sims.oscar_writes) if path_of(e) == UPSERT]
    assert sorted(e["status"] for e in upserts) == [200, 200]
    inbound = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    oscar_referral = {r["services"][0][0]: r for r in inbound}
    assert set(oscar_referral) == set(plan)

    # The NGO decides in OSCaR: one child taken in, the other exited.
    global_ids = {}
    for service_id, (_, _, status) in plan.items():
        referral_id = oscar_referral[service_id]["id"]
        opened = await asyncio.to_thread(
            sims.oscar_control, "POST", f"/referrals/{referral_id}/intake", {"status": status}
        )
        global_ids[service_id] = opened["client"]["global_id"]

    # C2 (and C0): the decisions come back to Primero.
    assert await pipeline.fetch_oscar() == 4
    await pipeline.settle()

    expected = {
        ACCEPTED_SERVICE: ("accepted", "accepted_340953"),
        EXITED_SERVICE: ("rejected", "rejected_936484"),
    }
    for service_id, (referral_status, service_status) in expected.items():
        case, referrals = await asyncio.to_thread(sims.primero_case, records[service_id])
        [referral] = referrals
        assert referral["status"] == referral_status
        [service] = [s for s in case["services_section"] if s["unique_id"] == service_id]
        assert service["referral_status_edf41f2"] == service_status
        assert service["oscar_referral_id_a4ac8a5"] == str(oscar_referral[service_id]["id"])
        assert service["service_response_type"] == "referral_to_oscar"  # its own type kept
        assert case["oscar_number"] == global_ids[service_id]  # C0/C2 wrote the OSCaR id

    writes = await asyncio.to_thread(sims.primero_writes)
    referral_patches = [w for w in writes if "/referrals/" in w["path"]]
    assert sorted(w["body"]["data"]["status"] for w in referral_patches) == [
        "accepted",
        "rejected",
    ]
    assert all(
        set(w["body"]["data"]) == {"status", "type", "id", "record_id"} for w in referral_patches
    )
    assert {w["status"] for w in writes} == {200}
    for target in ("oscar", "primero"):
        assert await pipeline.dead_letters(pipeline.loader_queue(target)) == []
    assert await pipeline.dead_letters(pipeline.transformer_queue) == []
