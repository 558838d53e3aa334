"""C1 against an OSCaR simulator that behaves like oscar-web @9dd3a12e (REAL-SYSTEMS.md § OSCaR):
every referral reaches OSCaR exactly once, or a dead letter says why and nothing was sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import STATUSES, UPSERT, Pipeline, path_of
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

ELSEWHERE = "01JC0000000000000000000001"  # has a client in cif only
NO_SEX = "01JC0000000000000000000002"  # has a client in cif; the Primero case has no sex
LEGACY = "01JC0000000000000000000003"  # holds referral 4242, saved without level_of_risk
SERVICES = {
    "elsewhere": "7b1d2c3b-0000-4000-8000-000000000001",
    "no_sex": "7b1d2c3b-0000-4000-8000-000000000002",
    "no_risk": "7b1d2c3b-0000-4000-8000-000000000003",
}
SUBTYPE = "social_work_case_work_community"
DECIDED_SERVICE = "7b1d2c3b-0000-4000-8000-000000000004"


def oscar_child(global_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "global_id": global_id,
        "given_name": "Srey",
        "family_name": "Mom",
        "gender": "female",
        "date_of_birth": "2013-02-03",
        "location_current_village_code": "12020304",
        "organization_name": "cif",
        "external_id": f"ext-{global_id}",
        "status": "Active",
        **extra,
    }


def seed(pipeline: Pipeline) -> dict[str, str]:
    """Returns case_id by scenario."""
    sims = pipeline.sims
    legacy_service = {"uuid": "u", "name": "Kinship care", "referral_id": 4242}
    records = [
        oscar_child(ELSEWHERE),
        oscar_child(NO_SEX),
        oscar_child(LEGACY, services=[legacy_service | {"level_of_risk": None}]),
    ]
    sims.oscar_control("POST", "/seed", {"source": "records", "records": records})
    cases: dict[str, dict[str, Any]] = {
        name: referral_to_oscar_case(name=name, service_id=service_id, subtype=SUBTYPE)
        for name, service_id in SERVICES.items()
    }
    cases["elsewhere"]["oscar_number"] = ELSEWHERE
    cases["elsewhere"]["services_section"][0]["service_implementing_agency"] = "agency-tpo"
    cases["no_sex"]["oscar_number"] = NO_SEX
    del cases["no_sex"]["sex"]
    del cases["no_risk"]["risk_level"]
    case_ids = {}
    for name, case in cases.items():
        record_id = sims.create_case(case)
        sims.refer(record_id, SERVICES[name])
        case_ids[name] = sims.primero_case(record_id)[0]["case_id"]
    decided = referral_to_oscar_case(name="legacy", service_id=DECIDED_SERVICE, subtype=SUBTYPE)
    decided["oscar_number"] = LEGACY
    decided["services_section"][0] |= {
        "service_response_type": "referral_from_oscar",
        "oscar_referring_organization": "agency-cif",
        "oscar_referral_id_a4ac8a5": "4242",
        "referral_status_edf41f2": "accepted_340953",
    }
    record_id = sims.create_case(decided)
    case_ids["legacy"] = sims.primero_case(record_id)[0]["case_id"]
    return case_ids


async def test_c1_referrals_reach_oscar_once_or_dead_letter_with_the_reason(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    case_ids = await asyncio.to_thread(seed, pipeline)
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    assert await pipeline.fetch_primero() == 4
    await pipeline.settle()
    # A replay-like second pass (same versions) must not add anything.
    await pipeline.fetch_primero()
    await pipeline.settle()

    writes = await asyncio.to_thread(sims.oscar_writes)
    upserts = [w for w in writes if path_of(w) == UPSERT]
    # Only the child with a client in the named organisation was sent, once; its blank
    # gender was filled with OSCaR's own value, so OSCaR saved it (200) and wiped nothing.
    [sent] = upserts
    assert sent["status"] == 200
    assert sent["body"]["organization"]["global_id"] == NO_SEX
    assert sent["body"]["organization"]["gender"] == "female"
    referrals = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    created = [r for r in referrals if r["direction"] == "inbound" and r["id"] != 4242]
    assert [(r["client_global_id"], r["tenant"]) for r in created] == [(NO_SEX, "cif")]
    clients = (await asyncio.to_thread(sims.oscar_control, "GET", "/clients"))["clients"]
    [child] = [c for c in clients if c["global_id"] == NO_SEX]
    assert (child["gender"], child["date_of_birth"]) == ("female", "2014-05-06")

    # The legacy referral's status: OSCaR refused it (422) and the dead letter carries its text.
    [statuses] = [w for w in writes if path_of(w) == STATUSES]
    assert statuses["status"] == 422
    loader_dead = {
        d.error_message.split(":")[0]: d.error_message
        for d in await pipeline.dead_letters(pipeline.loader_queue("oscar"))
    }
    assert sorted(loader_dead) == [
        "OSCaR refused the status of referral(s) 4242",
        "OSCaR would create nothing",
    ]
    assert (
        "Level of risk can't be blank"
        in loader_dead["OSCaR refused the status of referral(s) 4242"]
    )
    assert loader_dead["OSCaR would create nothing"].startswith(
        f"OSCaR would create nothing: child {ELSEWHERE} (case {case_ids['elsewhere']}) has no"
        " client in organisation tpo"
    )

    # The case without a risk level never reached OSCaR: the transformer says why.
    [gap] = await pipeline.dead_letters(pipeline.transformer_queue)
    assert gap.error_class == "MappingGap"
    assert gap.error_message == (
        f"case {case_ids['no_risk']} has no risk_level and OSCaR refuses a referral without"
        " level_of_risk: set it in Primero, or set primero_to_oscar.default_when_missing in"
        " cambodia-risk-level-map.json"
    )
