"""One bad part of a record never stops its good parts (issue 11 §3): a Primero case with a new
referral to OSCaR and a decision OSCaR cannot take (no `oscar_number`) sends the referral, and the
case waits in the transformer's DLQ with the decision's reason. Replaying it does not send the
referral a second time."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from .conftest import STATUSES, UPSERT, Pipeline, casebridge, path_of
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

REFERRED = "8c3d4e5f-0000-4000-8000-000000000001"
DECIDED = "8c3d4e5f-0000-4000-8000-000000000002"


def case_with_a_referral_and_a_decision() -> dict[str, Any]:
    """A new referral to `cif`, and an accepted OSCaR referral (1193), but no OSCaR id."""
    case = referral_to_oscar_case(
        name="Sokha", service_id=REFERRED, subtype="social_work_case_work_community"
    )
    case["services_section"].append(
        {
            "unique_id": DECIDED,
            "service_type": "family_based_care",
            "service_subtype": ["family_based_care_longterm_foster"],
            "service_response_type": "referral_from_oscar",
            "oscar_referring_organization": "agency-cif",
            "oscar_referral_id_a4ac8a5": "1193",
            "referral_status_edf41f2": "accepted_340953",
        }
    )
    return case


async def test_the_referral_goes_and_the_undeliverable_decision_is_dead_lettered(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sims = pipeline.sims
    monkeypatch.setenv("RABBITMQ_URL", pipeline.rabbitmq_url)
    monkeypatch.setenv("TOPOLOGY_PREFIX", pipeline.prefix)
    monkeypatch.setenv("CONTROL_DATABASE_URL", pipeline.store_url("loader-oscar"))
    monkeypatch.setenv("RETRY_DELAYS_S", json.dumps(list(pipeline.topology.work_queues[
        pipeline.transformer_queue].retry_delays)))  # fmt: skip
    monkeypatch.setenv("CASEBRIDGE_ACTOR", "ops@mosvy")
    record_id = await asyncio.to_thread(sims.create_case, case_with_a_referral_and_a_decision())
    await asyncio.to_thread(sims.refer, record_id, REFERRED, "needs a social worker")
    case_id = (await asyncio.to_thread(sims.primero_case, record_id))[0]["case_id"]
    await pipeline.start_transformer()
    await pipeline.start_loader("oscar")

    assert await pipeline.fetch_primero() == 1
    await pipeline.settle()

    writes = await asyncio.to_thread(sims.oscar_writes)
    upserts = [e for e in writes if path_of(e) == UPSERT]
    assert [(e["status"], e["body"]["organization"]["services"][0]["uuid"]) for e in upserts] == [
        (200, REFERRED)
    ]
    assert [e for e in writes if path_of(e) == STATUSES] == []
    inbound = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    assert [r["services"][0][0] for r in inbound] == [REFERRED]
    code, listed = await asyncio.to_thread(
        casebridge, capsys, "dlq", "list", "--queue", "transformer", "--json"
    )
    assert code == 0, listed
    [letter] = json.loads(listed)
    assert letter["error_class"] == "PartlyMapped"
    assert letter["reason"] == (
        f"case {case_id} has OSCaR decisions but no oscar_number (its other 1 output(s) were"
        " published; a replay re-sends them under the same ids)"
    )
    assert "Sokha" not in listed
    assert await pipeline.dead_letters(pipeline.loader_queue("oscar")) == []

    # The admin replays it: the referral command comes again under the same id and the OSCaR
    # loader drops it as already applied; the decision's gap is still there.
    code, out = await asyncio.to_thread(casebridge, capsys, "dlq", "replay", letter["message_id"])
    assert code == 0, out
    assert "replayed 1, refused 0" in out
    await pipeline.settle()

    upserts = [e for e in await asyncio.to_thread(sims.oscar_writes) if path_of(e) == UPSERT]
    assert len(upserts) == 1, "the replay did not send the referral twice"
    inbound = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
    assert len(inbound) == 1
    [again] = await pipeline.dead_letters(pipeline.transformer_queue)
    assert again.error_class == "PartlyMapped"
    assert again.replay_count == 1
    assert await pipeline.dead_letters(pipeline.loader_queue("oscar")) == []
