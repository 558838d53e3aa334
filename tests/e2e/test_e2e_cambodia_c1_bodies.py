"""C1 over the wire: the reference samples, fetched from the Primero simulator, reach the OSCaR
simulator as exactly the bodies MAPPINGS A.2.4 (referral upsert) and A.2.5 (decisions, links)
prescribe. The transformer's tests assert the mapping; this asserts what arrived over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import LINKS, STATUSES, UPSERT, Pipeline, path_of
from .world import (
    GAMBELLA_CASE_ID,
    GAMBELLA_SERVICE,
    LINKED_CASE_ID,
    LINKED_GLOBAL_ID,
    TIKWIZA,
    TIKWIZA_CASE_ID,
    TIKWIZA_GLOBAL_ID,
    seed_reference_world,
)

pytestmark = pytest.mark.e2e


def expected_referral_upsert(case: dict[str, Any], referral: dict[str, Any]) -> dict[str, Any]:
    """A.2.4, row by row, from the case as Primero stores it and the referral being sent."""
    service = next(
        s for s in case["services_section"] if s["unique_id"] == referral["service_record_id"]
    )
    village = case["location_current"]
    return {
        "organization": {
            # external_id <- case_id; external_id_display <- case_id_display (oscarStrings)
            "external_id": case["case_id"],
            "external_id_display": case["case_id_display"],
            # global_id <- oscar_number when set
            "global_id": case["oscar_number"],
            # level_of_risk <- risk_level (no_action -> "no action", else as is)
            "level_of_risk": case["risk_level"],
            # mosvy_number, given_name, family_name, gender <- as is (oscarStrings)
            "mosvy_number": case["mosvy_number"],
            "given_name": case["name_first"],
            "family_name": case["name_last"],
            "gender": case["sex"],
            # date_of_birth: "/" -> "-"
            "date_of_birth": case["date_of_birth"].replace("/", "-"),
            # both village codes <- location_current, one leading "0" for odd lengths (8: none)
            "location_current_village_code": village,
            "address_current_village_code": village,
            # reason_for_referral <- the notes of the referral that points at this service
            "reason_for_referral": referral["notes"],
            # external_case_worker_name / _id <- owned_by / owned_by_id
            "external_case_worker_name": case["owned_by"],
            "external_case_worker_id": case["owned_by_id"],
            # external_case_worker_mobile <- owned_by_phone, default "000000000"
            "external_case_worker_mobile": case["owned_by_phone"] or "000000000",
            # resource "Primero" only for workflow referral_to_oscar
            "resource": "Primero",
            "is_referred": True,
            # organization_name <- service_implementing_agency without "agency-"
            "organization_name": service["service_implementing_agency"].removeprefix("agency-"),
            # organization_id <- owned_by_agency_id, not stripped
            "organization_id": case["owned_by_agency_id"],
            # services: one per request, name <- service map of the first subtype
            "services": [{"uuid": service["unique_id"], "name": "Community social work"}],
            # transaction_id omitted: the case has no transitions
            # date_of_referral <- last_updated_at, first 10 characters
            "date_of_referral": case["last_updated_at"][:10],
        }
    }


def known_child(body: dict[str, Any]) -> dict[str, Any]:
    """A known child (global_id): blank client fields are left out, since OSCaR overwrites its
    client with what it is sent (REAL-SYSTEMS.md); OSCaR holds no value for them either."""
    organization = {k: v for k, v in body["organization"].items() if v != ""}
    return {"organization": organization}


async def test_the_reference_samples_reach_oscar_as_exactly_the_expected_bodies(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    linked_record = await asyncio.to_thread(seed_reference_world, sims)
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")

    assert await pipeline.fetch_primero() == 6  # the 5 samples and the linked case
    await pipeline.settle()

    writes = await asyncio.to_thread(sims.oscar_writes)
    by_path: dict[str, list[dict[str, Any]]] = {}
    for entry in writes:
        by_path.setdefault(path_of(entry), []).append(entry)
    assert sorted(by_path) == sorted([UPSERT, STATUSES, LINKS])
    assert [e["status"] for e in writes] == [200, 200, 200]

    # A.2.4: one upsert per open referral of a referred service. The simulator's sample data
    # serves one referral for this case (the second one of the fixture shares its id with a
    # Gambella sample referral), so one request.
    case, referrals = await asyncio.to_thread(sims.primero_case, TIKWIZA)
    [referral] = [r for r in referrals if r["status"] == "in_progress"]
    [upsert] = by_path[UPSERT]
    assert upsert["method"] == "POST"
    assert upsert["body"] == known_child(expected_referral_upsert(case, referral))
    # The same body, literally (the reference fixture with the documented rule changes).
    assert upsert["body"] == {
        "organization": {
            "external_id": TIKWIZA_CASE_ID,
            "external_id_display": "5a04e68",
            "global_id": TIKWIZA_GLOBAL_ID,
            "level_of_risk": "medium",
            "given_name": "Tikwiza",
            "family_name": "Quin",
            "gender": "female",
            "date_of_birth": "2015-01-01",
            "location_current_village_code": "10060805",
            "address_current_village_code": "10060805",
            "reason_for_referral": "sample reason",
            "external_case_worker_name": "openfn_cp_user",
            "external_case_worker_id": "openfn_cp_user",
            "external_case_worker_mobile": "000000000",
            "resource": "Primero",
            "is_referred": True,
            "organization_name": "cif",
            "organization_id": "agency-unicef",
            "services": [
                {"uuid": "00b7078c-f989-4d23-af5c-4712232aab6c", "name": "Community social work"}
            ],
            "date_of_referral": "2022-10-04",
        }
    }

    # A.2.5 decisions: the referral_from_oscar service accepted in Primero, as one PUT.
    [statuses] = by_path[STATUSES]
    assert statuses["method"] == "PUT"
    assert statuses["body"] == {
        "data": [
            {
                "external_id": TIKWIZA_CASE_ID,  # <- case_id
                "external_id_display": "5a04e68",  # <- case_id_display
                "client_global_id": TIKWIZA_GLOBAL_ID,  # <- oscar_number
                "referral_status": "Accepted",  # <- accepted_340953 via the status map
                "referral_id": 1193,  # <- parseInt(oscar_referral_id_a4ac8a5)
            }
        ]
    }

    # A.2.5 links: a case with an OSCaR id and no referral to OSCaR gets its Primero ids.
    linked_case, _ = await asyncio.to_thread(sims.primero_case, linked_record)
    [links] = by_path[LINKS]
    assert links["method"] == "PUT"
    assert links["body"] == {
        "data": [
            {
                "external_id": LINKED_CASE_ID,
                "external_id_display": linked_case["case_id_display"],
                "global_id": LINKED_GLOBAL_ID,
                "is_referred": False,
            }
        ]
    }

    # OSCaR applied them: a new referral for the child, 1193 accepted, the link written.
    state = await asyncio.to_thread(sims.oscar_control, "GET", "/referrals")
    referrals_by_id = {r["id"]: r for r in state["referrals"]}
    assert referrals_by_id[1193]["referral_status"] == "Accepted"
    [new] = [r for r in state["referrals"] if r["id"] != 1193]
    assert (new["client_global_id"], new["tenant"], new["referral_status"]) == (
        TIKWIZA_GLOBAL_ID,
        "cif",
        "Referred",
    )
    clients = (await asyncio.to_thread(sims.oscar_control, "GET", "/clients"))["clients"]
    [linked] = [c for c in clients if c["global_id"] == LINKED_GLOBAL_ID]
    assert linked["external_id"] == LINKED_CASE_ID

    # The one sample that cannot be mapped is in the transformer's DLQ with its reason.
    [dead] = await pipeline.dead_letters(pipeline.transformer_queue)
    assert dead.error_class == "MappingGap"
    assert dead.error_message == (
        f"organisation is empty for service {GAMBELLA_SERVICE} of case {GAMBELLA_CASE_ID}; case"
        f" {GAMBELLA_CASE_ID} has no risk_level and OSCaR refuses a referral without"
        " level_of_risk: set it in Primero, or set primero_to_oscar.default_when_missing in"
        " cambodia-risk-level-map.json"
    )
    assert await pipeline.dead_letters(pipeline.loader_queue("oscar")) == []
