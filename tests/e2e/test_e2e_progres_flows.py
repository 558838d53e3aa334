"""P1-P4 end to end on the real RabbitMQ: DTP pushes webhooks to the inbox, the transformer and
the primero/progres loaders write to the Primero and DTP simulators; fetcher-primero polls P2/P3.

Each flow's exact bodies for the reference samples; repeats send nothing new."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from dtp_sim.testing import RunningDtp
from transformer.progres import service_unique_id

from .conftest import Pipeline
from .progres_world import (  # noqa: F401 - fixtures
    dtp_env_fixture,
    dtp_fixture,
    push,
    received,
    running_inbox,
    samples,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

INTAKE = "progresv4_primero_intake@cpims-gambella.primero.org"
#: P1 feedback goes to the decision endpoint, as in the real integration (no /Feedback).
FEEDBACK = "ReceiveDecisionOutgoingReferral"


async def start_p_services(pipeline: Pipeline) -> None:
    await pipeline.start_transformer()
    await pipeline.start_loader("primero")
    await pipeline.start_loader("progres")


async def fetch_p2_p3(pipeline: Pipeline) -> int:
    from fetcher_primero.bootstrap import bootstrap
    from fetcher_primero.config import Settings

    primero = pipeline.sims.primero
    settings = Settings(
        **pipeline.bus(),
        primero_url=primero.base_url,
        primero_user=primero.user_name,
        primero_password=primero.password,
        fetch_flows="p2,p3",
        control_database_url=pipeline.store_url("fetcher-primero"),
    )
    return await bootstrap(settings).run_once()


def find_case(pipeline: Pipeline, **filters: str) -> dict[str, Any]:
    sims = pipeline.sims
    response = sims.session.get(
        f"{sims.primero.base_url}/api/v2/cases",
        params={**filters, "per": 10},
        auth=sims.primero.auth,
        timeout=10,
    )
    [case] = response.json()["data"]
    return dict(sims.primero_api("GET", f"/cases/{case['id']}")["data"])


@pytest.mark.usefixtures("dtp_env")
async def test_p1_referrals_become_cases_and_every_intervention_gets_feedback(
    pipeline: Pipeline, dtp: RunningDtp, tmp_path: Any
) -> None:
    await start_p_services(pipeline)
    referrals = samples("progres-referrals.json")
    async with running_inbox(pipeline.bus(), tmp_path) as (_, url):
        results = await push(dtp, f"{url}/inbox/dtp", referrals)
        assert [r["status"] for r in results] == [202, 202, 202, 202, 422]  # #5 is {data: …}
        await pipeline.settle()
        again = await push(dtp, f"{url}/inbox/dtp", referrals[:1])
        await pipeline.settle()

    assert again[0]["status"] == 202
    assert again[0]["response"]["receipt"] == results[0]["response"]["receipt"]
    assert again[0]["response"]["duplicate"] is True
    alfred = find_case(pipeline, unhcr_individual_no="989-00000226")
    assert alfred["name_first"] == "Alfred"
    assert alfred["address_current"] == "Gambela Agnuak Abobo   "
    assert alfred["language"] == ["language6"]
    [row] = alfred["services_section"]
    assert row["unique_id"] == service_unique_id("989-22-PRTITV-0000051")
    assert row["service_type"] == "alternative_care"
    assert row["unhcr_referral_status"] == "pending"
    child = find_case(pipeline, unhcr_individual_no="803-100000519")
    feedback = received(dtp, FEEDBACK)
    fail = (
        "Intervention type value shared is not one of the 4 accepted interagency referral"
        " service types. Please see the mapping specifications."
    )
    assert sorted(feedback, key=lambda b: b["progres_interventionnumber"]) == [
        {
            "status": "Pending Acknowledgement",
            "primero_user": child["owned_by"],
            "case_id": child["case_id"],
            "progres_interventionnumber": "811-23-PRTITV-1000095",
        },
        {
            "status": "Pending Acknowledgement",
            "primero_user": alfred["owned_by"],
            "case_id": alfred["case_id"],
            "progres_interventionnumber": "989-22-PRTITV-0000051",
        },
        {
            "progres_interventionnumber": "DAD-21-PRTITV-0000141",
            "status": "Delivery Fail",
            "closure_reason": fail,
            "request_type": "Feedback",
        },
        {
            "progres_interventionnumber": "NUR-21-PRTITV-0000079",
            "status": "Delivery Fail",
            "closure_reason": fail,
            "request_type": "Feedback",
        },
    ]
    assert alfred["owned_by"] == INTAKE
    assert await pipeline.dead_letters(pipeline.transformer_queue) == []


@pytest.mark.usefixtures("dtp_env")
async def test_p4_decision_patches_the_referral_and_p2_p3_reach_dtp_once(
    pipeline: Pipeline, dtp: RunningDtp, tmp_path: Any
) -> None:
    sims = pipeline.sims
    await asyncio.to_thread(sims.primero_control, "POST", "/seed", {"source": "samples"})
    # P3's sample case (primero-cases #3): its UNHCR service is referred to unhcr_cw.
    p3_case = "c48bd8ca-b290-4bca-9be9-4fb0f9e7b59a"
    p3_service = "66299d30-7d59-40aa-a4fc-289669d0e16a"
    refer = {"data": {"transitioned_to": "unhcr_cw", "service_record_id": p3_service}}
    await asyncio.to_thread(sims.primero_api, "POST", f"/cases/{p3_case}/referrals", refer)
    # P4's sample decision names case f59e880e… and a service ending eb097be51d89.
    service = "5c2d4f6c-7a78-43b5-ac40-eb097be51d89"
    created = await asyncio.to_thread(
        sims.create_case,
        {
            "module_id": "primeromodule-cp",
            "case_id": "f59e880e-d58f-4b68-ba6e-e0616a49aefd",
            "consent_for_services": True,
            "services_section": [{"unique_id": service, "service_implementing_agency": "UNHCR"}],
        },
    )
    body = {
        "data": {
            "transitioned_to": "unhcr_cw",
            "service_record_id": service,
            "consent_overridden": True,
        }
    }
    referral = await asyncio.to_thread(
        sims.primero_api, "POST", f"/cases/{created}/referrals", body
    )
    await start_p_services(pipeline)

    await fetch_p2_p3(pipeline)
    await pipeline.settle()
    async with running_inbox(pipeline.bus(), tmp_path) as (_, url):
        results = await push(dtp, f"{url}/inbox/dtp", samples("progres-decisions.json"))
        await pipeline.settle()
    assert [r["status"] for r in results] == [202, 202, 202, 422]

    # P4: the in-progress referral is accepted (sample #2 repeats it: nothing more to do).
    patches = [
        w
        for w in sims.primero_writes()
        if w["method"] == "PATCH" and w["path"].endswith(f"/referrals/{referral['data']['id']}")
    ]
    assert [p["body"] for p in patches] == [
        {
            "data": {
                "status": "accepted",
                "type": "Referral",
                "record_type": "case",
                "id": referral["data"]["id"],
                "record_id": created,
            }
        }
    ]
    # samples #3 (no '#') is dead-lettered with its reason; #4 ('decision') was refused (422).
    [dead] = await pipeline.dead_letters(pipeline.transformer_queue)
    assert "progres_orgreferralid 'string'" in dead.error_message

    # P2: the sample case's rejection; P3: the sample referral, contact from Primero's users.
    assert {
        "case_id": "b30cba6b-8d97-4524-b77f-a8f50cfcc974",
        "primero_user": INTAKE,
        "progres_interventionnumber": "DAD-21-PRTITV-0000199",
        "status": "rejected",
        "closure_reason": "Not able to provide service due to shortage of staff",
        "request_type": "ReceiveDecisionOutgoingReferral",
    } in received(dtp, "ReceiveDecisionOutgoingReferral")
    [sent] = [
        b
        for b in received(dtp, "ReceiveIncomingReferral")
        if b["id"] == "234bbac3-7278-430a-98b5-1abc460671ec#289669d0e16a"
    ]
    expected = samples("dtp-outbound-messages.json")[1]
    contact = ("position", "email", "phone", "full_name")
    assert {k: v for k, v in sent.items() if k not in contact} == {
        k: v for k, v in expected.items() if k not in contact
    }
    assert sent["full_name"] == "CP worker"

    # Touch both cases; the next poll re-publishes them, but DTP receives nothing new.
    before = len(dtp.sim.received)
    touch = {"data": {"risk_level": "high"}}
    await asyncio.to_thread(sims.primero_api, "PATCH", f"/cases/{p3_case}", touch)
    await fetch_p2_p3(pipeline)
    await pipeline.settle()
    assert len(dtp.sim.received) == before


@pytest.mark.usefixtures("dtp_env")
async def test_p1_a_field_dtp_sends_empty_clears_the_primero_value(
    pipeline: Pipeline, dtp: RunningDtp, tmp_path: Any
) -> None:
    """MAPPINGS B.1: demographics are overwritten on update, blanks included."""
    await start_p_services(pipeline)
    first = samples("progres-referrals.json")[0]
    cleared = copy.deepcopy(first)
    [item] = cleared["interventions"]
    item["individuals.progres_commonyusedname"] = None
    item["individuals.progres_primaryphonenumber"] = ""
    async with running_inbox(pipeline.bus(), tmp_path) as (_, url):
        assert [r["status"] for r in await push(dtp, f"{url}/inbox/dtp", [first])] == [202]
        await pipeline.settle()
        before = find_case(pipeline, unhcr_individual_no="989-00000226")
        assert (before["name_nickname"], before["telephone_current"]) == ("Alfie", "+4612312345")
        assert [r["status"] for r in await push(dtp, f"{url}/inbox/dtp", [cleared])] == [202]
        await pipeline.settle()

    after = find_case(pipeline, unhcr_individual_no="989-00000226")
    assert after["id"] == before["id"], "the same case, updated"
    assert after["name_nickname"] is None
    assert after["telephone_current"] is None
    assert after["name_first"] == "Alfred"
    patches = [w for w in pipeline.sims.primero_writes() if w["method"] == "PATCH"]
    [patch] = [p for p in patches if p["path"].endswith(before["id"])]
    assert patch["status"] == 200
    assert patch["body"]["data"]["name_nickname"] is None
    assert await pipeline.dead_letters(pipeline.transformer_queue) == []
    assert await pipeline.dead_letters(pipeline.loader_queue("primero")) == []
