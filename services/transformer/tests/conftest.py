"""Fixtures of the transformer tests: loaded tables and the reference samples as raw records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casebridge.messages import RawRecord, SourceRef
from transformer.cambodia import CambodiaTables, load_tables

FIXTURES = Path(__file__).parent / "fixtures"
#: A fixed "fetched at" instant, so ages computed from dates of birth are reproducible.
FETCHED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def sample_records(name: str) -> list[dict[str, Any]]:
    """The `record` of every entry of a reference sample file."""
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


def case_raw(case: dict[str, Any]) -> RawRecord:
    """A Primero case as fetcher-primero publishes it for flow c1."""
    source = SourceRef(
        system="primero",
        record_type="case",
        record_id=str(case.get("id") or case.get("case_id") or "case"),
        updated_at=case.get("last_updated_at"),
    )
    raw = RawRecord.of(flow="c1", source=source, payload=case, producer="tests")
    return raw.model_copy(update={"produced_at": FETCHED_AT})


def client_raw(client: dict[str, Any], flow: str = "c2") -> RawRecord:
    """An OSCaR client as fetcher-oscar publishes it for flow c0 or c2."""
    source = SourceRef(
        system="oscar", record_type="client", record_id=str(client.get("global_id") or "client")
    )
    raw = RawRecord.of(flow=flow, source=source, payload=client, producer="tests")
    return raw.model_copy(update={"produced_at": FETCHED_AT})


@pytest.fixture(scope="session")
def tables() -> CambodiaTables:
    return load_tables()


@pytest.fixture
def primero_cases() -> list[dict[str, Any]]:
    return sample_records("primero-cases.json")


@pytest.fixture
def oscar_clients() -> list[dict[str, Any]]:
    return sample_records("oscar-clients.json")


@pytest.fixture
def expected_oscar_bodies() -> list[Any]:
    return sample_records("oscar-api-payloads.json")


@pytest.fixture
def as_case() -> Any:
    """Wraps a Primero case dict as a c1 raw record."""
    return case_raw


@pytest.fixture
def as_client() -> Any:
    """Wraps an OSCaR client dict as a c0/c2 raw record: `as_client(client, flow="c0")`."""
    return client_raw
