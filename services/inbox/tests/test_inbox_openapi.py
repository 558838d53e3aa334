"""The inbox's OpenAPI document is the truth: schemathesis sends what it allows (and what it
forbids) with a valid key, and the code must agree: no 5xx, no schema-valid body refused with a
4xx, no schema-invalid body accepted, every answer as documented. Bounded in examples and time.
"""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from schemathesis import Case
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from casebridge.memory import MemoryTransport
from casebridge.publishing import MessagePublisher
from casebridge.testing.memory_control_store import MemoryControlStore
from casebridge.topology import build_topology
from inbox.app import InboxMetrics, create_app
from inbox.intake import Intake

KEYS = {"/inbox/dtp": "dtp-hook-key", "/inbox/primero": "primero-hook-key"}


def _app() -> FastAPI:
    topology = build_topology("openapi")
    transport = MemoryTransport()
    store = MemoryControlStore()

    async def setup() -> None:
        await transport.connect()
        await transport.declare(topology)

    async def get_store() -> MemoryControlStore:
        return store

    asyncio.run(setup())
    intake = Intake(MessagePublisher(transport, topology), get_store, lambda: True)
    return create_app(
        intake,
        dtp_key=SecretStr(KEYS["/inbox/dtp"]),
        primero_key=SecretStr(KEYS["/inbox/primero"]),
        max_body_bytes=65_536,
        metrics=InboxMetrics(CollectorRegistry()),
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@pytest.mark.timeout(180)
@schema.parametrize()
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_inbox_accepts_exactly_what_its_openapi_document_allows(case: Case) -> None:
    case.headers = {**(case.headers or {}), "x-api-key": KEYS[case.path]}
    case.call_and_validate(
        checks=[
            positive_data_acceptance,
            negative_data_rejection,
            response_schema_conformance,
            status_code_conformance,
        ],
    )
