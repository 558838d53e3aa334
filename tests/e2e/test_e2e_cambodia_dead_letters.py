"""Records that cannot be mapped, and a message that is not a record at all, each land in the
transformer's DLQ with a reason an admin understands, while every other record loads."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import UPSERT, Pipeline, path_of
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

GOOD_SERVICES = {
    "6a1d2c3b-0000-4000-8000-000000000001": "social_work_case_work_community",
    "6a1d2c3b-0000-4000-8000-000000000002": "family_based_care_emergency_foster",
}
UNMAPPED_SERVICE = "6a1d2c3b-0000-4000-8000-00000000000f"
STUNG_TRENG = "01JB0000000000000000000019"
MALFORMED = "01JB00000000000000000000BA"
GOOD_CLIENTS = ("01JB0000000000000000000001", "01JB0000000000000000000002")


def oscar_client(global_id: str, location: str, **extra: Any) -> dict[str, Any]:
    """A client an NGO referred to MoSVY (the referred feed shape)."""
    return {
        "global_id": global_id,
        "slug": f"c-{global_id[-4:].lower()}",
        "given_name": "Srey",
        "family_name": "Mom",
        "gender": "female",
        "date_of_birth": "2013-02-03",
        "location_current_village_code": location,
        "organization_name": "cif",
        "status": "Referred",
        "level_of_risk": "high",
        "reason_for_referral": "needs support",
        "referral_consent_form": ["https://example.org/consent.png"],
        **extra,
    }


def seed(pipeline: Pipeline) -> dict[str, str]:
    """Primero: two good referrals and one with a subtype missing from the service table.
    OSCaR: two good clients, one in Stung Treng (province 19, no Primero user), one with a
    service uuid Primero would reject. Returns case_id by service id."""
    sims = pipeline.sims
    case_ids = {}
    for n, (service_id, subtype) in enumerate(
        [*GOOD_SERVICES.items(), (UNMAPPED_SERVICE, "brand_new_subtype")]
    ):
        case = referral_to_oscar_case(name=f"Child{n}", service_id=service_id, subtype=subtype)
        record_id = sims.create_case(case)
        sims.refer(record_id, service_id, notes=f"referral {n}")
        case_ids[service_id] = sims.primero_case(record_id)[0]["case_id"]
    bad_service = {"uuid": "Not-A-UUID", "name": "Trauma counselling", "program_name": "P"}
    records = [
        oscar_client(GOOD_CLIENTS[0], "12020304"),
        oscar_client(GOOD_CLIENTS[1], "02040302"),
        oscar_client(STUNG_TRENG, "19020304"),
        oscar_client(
            MALFORMED, "12020304", services=[{**bad_service, "enrollment_date": "2024-01-02"}]
        ),
    ]
    sims.oscar_control("POST", "/seed", {"source": "records", "records": records})
    return case_ids


async def test_unmapped_and_malformed_records_are_dead_lettered_with_their_reason(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    case_ids = await asyncio.to_thread(seed, pipeline)
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")

    assert await pipeline.fetch_primero() == 3
    assert await pipeline.fetch_oscar() == 8  # c2 and c0 for each client
    await asyncio.to_thread(pipeline.broker.publish_raw, "c2.oscar", b'{"flow": "c2"}')
    await pipeline.settle()

    dead = {d.message_id: d for d in await pipeline.dead_letters(pipeline.transformer_queue)}
    reasons = sorted((d.error_class, d.error_message) for d in dead.values())
    unmapped = case_ids[UNMAPPED_SERVICE]
    expected_gaps = [
        (
            "MappingGap",
            f"OSCaR service uuid Not-A-UUID on client {MALFORMED} is not a lowercase UUID",
        ),
        (
            "MappingGap",
            f"no Primero province user for province code 19 (OSCaR client {STUNG_TRENG},"
            " location code 19020304)",
        ),
        (
            "MappingGap",
            f"unknown Primero service subtype brand_new_subtype for service {UNMAPPED_SERVICE}"
            f" of case {unmapped}",
        ),
    ]
    assert [r for r in reasons if r[0] == "MappingGap"] == expected_gaps
    [broken] = [d for d in dead.values() if d.error_class != "MappingGap"]
    assert broken.message_id == "malformed-1"
    assert broken.body == b'{"flow": "c2"}'
    assert broken.error_class == "InvalidMessage"
    assert broken.error_message == "unknown message type ''"
    assert len(dead) == 4
    for letter in dead.values():  # reasons name ids and codes, never the child
        assert "Srey" not in letter.error_message
        assert "Child" not in letter.error_message

    # The rest loaded: both good referrals reached OSCaR, both good clients are Primero cases.
    upserts = [e for e in await asyncio.to_thread(sims.oscar_writes) if path_of(e) == UPSERT]
    assert sorted(
        (e["status"], e["body"]["organization"]["services"][0]["uuid"]) for e in upserts
    ) == sorted((200, s) for s in GOOD_SERVICES)
    assert {e["body"]["organization"]["external_id"] for e in upserts} == {
        case_ids[s] for s in GOOD_SERVICES
    }
    for global_id in GOOD_CLIENTS:
        found = await asyncio.to_thread(sims.primero_api, "GET", f"/cases?oscar_number={global_id}")
        assert [c["oscar_number"] for c in found["data"]] == [global_id]
    for global_id in (STUNG_TRENG, MALFORMED):
        found = await asyncio.to_thread(sims.primero_api, "GET", f"/cases?oscar_number={global_id}")
        assert found["data"] == []
    for target in ("oscar", "primero"):
        assert await pipeline.dead_letters(pipeline.loader_queue(target)) == []
