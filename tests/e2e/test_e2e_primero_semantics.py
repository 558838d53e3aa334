"""Primero's real semantics through the real broker: a role that cannot read `oscar_number`
(Primero drops the filter), a decision Primero refuses (422), and the echo of casebridge's own
decision writes (Primero re-saves the case on every transition save)."""

from __future__ import annotations

import asyncio

import pytest

from casebridge.control import open_control_store

from .conftest import Pipeline
from .test_e2e_cambodia_dead_letters import oscar_client
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

KNOWN_CHILD = "01JC0000000000000000000001"
SERVICE = "5c4d3e2f-0000-4000-8000-000000000001"
IGNORED = "Primero ignored the filter on oscar_number: the API user's role cannot read that field"


async def test_a_role_that_cannot_read_oscar_number_never_creates_a_duplicate_child(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    # The child is already in Primero with its OSCaR id; OSCaR refers them (again) to MoSVY.
    known = {**referral_to_oscar_case(name="Dara", service_id=SERVICE, subtype="x_y")}
    known["oscar_number"] = KNOWN_CHILD
    await asyncio.to_thread(sims.create_case, known)
    seeded = [oscar_client(KNOWN_CHILD, "12020304")]
    await asyncio.to_thread(
        sims.oscar_control, "POST", "/seed", {"source": "records", "records": seeded}
    )
    await asyncio.to_thread(
        sims.primero_control,
        "PUT",
        f"/users/{sims.primero.user_name}",
        {"unreadable_fields": ["oscar_number"]},
    )
    cases_before = len(sims.primero.state.store)
    await asyncio.to_thread(sims.primero_control, "DELETE", "/writes")
    await pipeline.start_transformer()
    await pipeline.start_loader("primero")

    assert await pipeline.fetch_oscar() >= 1
    await pipeline.settle()

    assert len(sims.primero.state.store) == cases_before  # no second record of the child
    posts = [w for w in await asyncio.to_thread(sims.primero_writes) if w["method"] == "POST"]
    assert posts == []
    dead = await pipeline.dead_letters(pipeline.loader_queue("primero"))
    upserts = [d for d in dead if d.error_message.endswith(IGNORED)]
    assert upserts, [d.error_message for d in dead]
    assert all("Srey" not in d.error_message for d in dead)
    store = await open_control_store(pipeline.store_url("loader-primero"))
    try:
        [problem] = await store.list_problems()
    finally:
        await store.close()
    assert (problem.source, problem.reason) == ("primero:filter:oscar_number", IGNORED)


async def refer_and_decide(pipeline: Pipeline) -> str:
    """C1 sends a referral to OSCaR and the NGO accepts the child; returns the Primero id."""
    sims = pipeline.sims
    case = referral_to_oscar_case(
        name="Sophea", service_id=SERVICE, subtype="social_work_case_work_community"
    )
    record_id = await asyncio.to_thread(sims.create_case, case)
    await asyncio.to_thread(sims.refer, record_id, SERVICE, "refer")
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")
    await pipeline.start_loader("primero")
    assert await pipeline.fetch_primero() == 1
    await pipeline.settle()
    [inbound] = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    await asyncio.to_thread(
        sims.oscar_control, "POST", f"/referrals/{inbound['id']}/intake", {"status": "Accepted"}
    )
    return record_id


async def test_a_decision_primero_refuses_is_dead_lettered_with_primeros_reason(
    pipeline: Pipeline,
) -> None:
    sims = pipeline.sims
    record_id = await refer_and_decide(pipeline)
    # Meanwhile the NGO's Primero account (the referral's target) is disabled.
    await asyncio.to_thread(
        sims.primero_control, "PUT", "/users/agency-cif-user", {"disabled": True}
    )
    await pipeline.fetch_oscar()
    await pipeline.settle()

    dead = await pipeline.dead_letters(pipeline.loader_queue("primero"))
    refused = [d for d in dead if "/referrals/" in d.error_message]
    assert len(refused) == 1, [d.error_message for d in dead]
    assert refused[0].error_message.endswith(
        "answered 422: transition.errors.to_user_can_receive (transitioned_to)"
    )
    _, [referral] = await asyncio.to_thread(sims.primero_case, record_id)
    assert referral["status"] == "in_progress"


async def test_a_pass_after_the_decision_publishes_nothing_new_but_a_later_edit(
    pipeline: Pipeline, fresh_postgres: str
) -> None:
    sims = pipeline.sims
    pipeline.shared_store = fresh_postgres
    record_id = await refer_and_decide(pipeline)
    await pipeline.fetch_oscar()
    await pipeline.settle()
    _, [referral] = await asyncio.to_thread(sims.primero_case, record_id)
    assert referral["status"] == "accepted"  # the decision moved the case's last_updated_at
    assert await pipeline.dead_letters(pipeline.loader_queue("primero")) == []

    assert await pipeline.fetch_primero() == 0  # echo of our own decision: nothing new

    sims.primero.state.clock.advance(2)
    await asyncio.to_thread(
        sims.primero_api, "PATCH", f"/cases/{record_id}", {"data": {"risk_level": "medium"}}
    )
    assert await pipeline.fetch_primero() == 1  # a person's change is still published
