"""Builders for every contract: valid by default, override what the test cares about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casebridge.ids import new_id
from casebridge.messages import DeadLetter, RawRecord, SourceRef, UpsertCommand


def a_source(**overrides: Any) -> SourceRef:
    """A Primero case reference."""
    values: dict[str, Any] = {
        "system": "primero",
        "record_type": "case",
        "record_id": new_id(),
        "updated_at": datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
    }
    values.update(overrides)
    return SourceRef(**values)


def a_raw_record(
    payload: dict[str, Any] | None = None, *, flow: str = "c1", **source: Any
) -> RawRecord:
    """A raw record with deterministic ids derived from its source."""
    return RawRecord.of(
        flow=flow,
        source=a_source(**source),
        payload=payload if payload is not None else {"case_id_display": "abc123", "sex": "f"},
        producer="tests",
    )


def an_upsert_command(cause: RawRecord | None = None, **overrides: Any) -> UpsertCommand:
    """A command caused by `cause` (a fresh raw record by default)."""
    values: dict[str, Any] = {
        "target": "oscar",
        "operation": "client_upsert",
        "key": {"external_id": "case-1"},
        "payload": {"external_id": "case-1"},
        "producer": "tests",
    }
    values.update(overrides)
    return UpsertCommand.caused_by(cause or a_raw_record(), **values)


def a_dead_letter(**overrides: Any) -> DeadLetter:
    """A dead letter as the consumer wrapper writes it."""
    values: dict[str, Any] = {
        "queue": "cb.loader.oscar",
        "stage": "loader-oscar",
        "error_class": "PermanentError",
        "error_message": "OSCaR answered 422: Record was found.",
        "attempts": 1,
        "original_headers": {},
        "body_b64": "e30=",
    }
    values.update(overrides)
    return DeadLetter(**values)
