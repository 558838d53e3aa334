"""The inbox's routes over the in-process broker: statuses, bodies, receipts, nothing half-done."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from casebridge.memory import MemoryTransport
from casebridge.messages import RawRecord, default_registry
from casebridge.publishing import MessagePublisher
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import build_topology, transformer_queue
from inbox.app import InboxMetrics, create_app
from inbox.intake import Intake

PREFIX = "inboxtest"
DTP_KEY = "dtp-hook-key"
PRIMERO_KEY = "primero-hook-key"

REFERRAL = {
    "request_type": "PrimeroOutgoingReferral",
    "interventions": [
        {
            "progres_interventionnumber": "811-25-PRTITV-1000095",
            "individuals.progres_id": "989-00000226",
            "interventiontype.progres_description": "BIA",
        }
    ],
}
DECISION = {
    "request_type": "PrimeroIncomingReferralDecision",
    "interventions": [
        {
            "progres_orgreferralid": "f59e880e-d58f-4b68-ba6e-e0616a49aefd#eb097be51d89",
            "progres_reviewdecision": "125080000",
        }
    ],
}
PRIMERO_HOOK = {
    "data": {
        "record_id": "2d9a6f3e-5b1c-4c8e-9a7b-0e1f2a3b4c5d",
        "record_type": "case",
        "hostname": "primero.example.org",
        "case_id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e",
        "last_updated_at": "2025-03-20T10:02:11.456Z",
    }
}


class Inbox:
    def __init__(self, transport: MemoryTransport, store: MemoryControlStore) -> None:
        self.transport = transport
        self.store = store
        self.broker_up = True

    def published(self) -> list[RawRecord]:
        queue = self.transport.broker.queues[transformer_queue(PREFIX)]
        out = []
        for stored in queue.messages:
            message = default_registry().decode(stored.body)
            assert isinstance(message, RawRecord)
            out.append(message)
        return out


@pytest.fixture
async def inbox() -> AsyncIterator[tuple[Inbox, httpx.AsyncClient]]:
    topology = build_topology(PREFIX)
    transport = MemoryTransport()
    await transport.connect()
    await transport.declare(topology)
    store = MemoryControlStore()
    state = Inbox(transport, store)

    async def get_store() -> MemoryControlStore:
        return store

    intake = Intake(MessagePublisher(transport, topology), get_store, lambda: state.broker_up)
    app = create_app(
        intake,
        dtp_key=SecretStr(DTP_KEY),
        primero_key=SecretStr(PRIMERO_KEY),
        max_body_bytes=4096,
        metrics=InboxMetrics(CollectorRegistry()),
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox")
    yield state, client
    await client.aclose()
    await transport.close()


def dtp_headers(key: str = DTP_KEY) -> dict[str, str]:
    return {"content-type": "application/json", "x-api-key": key}


async def post(
    client: httpx.AsyncClient, body: Any, *, path: str = "/inbox/dtp", **headers: str
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(path, content=content, headers={**dtp_headers(), **headers})


async def test_a_referral_is_published_once_and_repeats_get_the_same_receipt(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    state, client = inbox
    first = await post(client, REFERRAL)
    again = await post(client, REFERRAL)

    assert first.status_code == 202
    assert first.json()["duplicate"] is False
    assert again.status_code == 202
    assert again.json() == {**first.json(), "duplicate": True}
    [record] = state.published()
    assert record.message_id == first.json()["receipt"]
    assert record.flow == "p1"
    assert record.source.system == "dtp"
    assert record.source.record_id == "811-25-PRTITV-1000095"
    assert record.payload == REFERRAL


async def test_a_decision_routes_to_p4_and_a_changed_body_is_news(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    state, client = inbox
    changed = copy.deepcopy(DECISION)
    changed["interventions"][0]["progres_reviewdecision"] = "125080001"

    one = await post(client, DECISION)
    two = await post(client, changed)

    assert (one.status_code, two.status_code) == (202, 202)
    assert one.json()["receipt"] != two.json()["receipt"]
    assert [r.flow for r in state.published()] == ["p4", "p4"]


async def test_the_primero_webhook_becomes_a_p2_case_record(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    state, client = inbox
    response = await post(client, PRIMERO_HOOK, path="/inbox/primero", **{"x-api-key": PRIMERO_KEY})

    assert response.status_code == 202, response.text
    [record] = state.published()
    assert record.flow == "p2"
    assert record.source.record_id == "2d9a6f3e-5b1c-4c8e-9a7b-0e1f2a3b4c5d"
    assert record.payload["id"] == "2d9a6f3e-5b1c-4c8e-9a7b-0e1f2a3b4c5d"
    assert record.payload["case_id"] == "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e"
    assert "hostname" not in record.payload


@pytest.mark.parametrize(
    ("body", "headers", "status", "error", "field"),
    [
        (REFERRAL, {"x-api-key": "wrong"}, 401, "unauthorized", None),
        (REFERRAL, {"x-api-key": PRIMERO_KEY}, 401, "unauthorized", None),
        (REFERRAL, {"content-type": "text/plain"}, 415, "unsupported_media_type", None),
        (b'{"request_type": "PrimeroOutgoingReferral", ', {}, 400, "malformed_json", None),
        (b"x" * 5000, {}, 413, "too_large", None),
        ([REFERRAL], {}, 422, "invalid_message", "body"),
        ({"interventions": [{}]}, {}, 422, "invalid_message", "request_type"),
        (
            {**DECISION, "request_type": "decision"},
            {},
            422,
            "invalid_message",
            "request_type",
        ),
        (
            {"request_type": "PrimeroOutgoingReferral", "interventions": []},
            {},
            422,
            "invalid_message",
            "interventions",
        ),
        (
            {"request_type": "PrimeroOutgoingReferral", "interventions": [{"x": 1}]},
            {},
            422,
            "invalid_message",
            "interventions[0].progres_interventionnumber",
        ),
        (
            {
                "request_type": "PrimeroIncomingReferralDecision",
                "interventions": [{"progres_orgreferralid": "a#b"}],
            },
            {},
            422,
            "invalid_message",
            "interventions[0].progres_reviewdecision",
        ),
    ],
)
async def test_bad_deliveries_get_their_status_and_publish_nothing(
    inbox: tuple[Inbox, httpx.AsyncClient],
    body: Any,
    headers: dict[str, str],
    status: int,
    error: str,
    field: str | None,
) -> None:
    state, client = inbox
    response = await post(client, body, **headers)

    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert state.published() == []
    assert state.store.processed == {} or not any(state.store.processed.values())


async def test_missing_key_header_and_unset_key_refuse(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    state, client = inbox
    response = await client.post(
        "/inbox/dtp", content=json.dumps(REFERRAL), headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert state.published() == []


async def test_broker_down_is_503_and_a_retry_after_it_is_back_goes_through(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    state, client = inbox
    state.broker_up = False
    refused = await post(client, REFERRAL)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"] == "unavailable"
    assert state.published() == []

    state.broker_up = True
    accepted = await post(client, REFERRAL)
    assert accepted.status_code == 202
    assert accepted.json()["duplicate"] is False
    assert len(state.published()) == 1


async def test_the_openapi_document_lists_every_route_and_error_status(
    inbox: tuple[Inbox, httpx.AsyncClient],
) -> None:
    _, client = inbox
    doc = (await client.get("/openapi.json")).json()
    for path in ("/inbox/dtp", "/inbox/primero"):
        responses = doc["paths"][path]["post"]["responses"]
        assert set(responses) >= {"202", "400", "401", "413", "415", "422", "503"}
        assert "requestBody" in doc["paths"][path]["post"]
