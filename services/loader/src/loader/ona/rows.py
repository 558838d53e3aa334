"""An `ona` command checked and turned into staging rows before any of it reaches the database.

A malformed command is the transformer's bug or a replayed hand-edit: it is refused alone
(`PermanentError`, dead-lettered) before the batch's COPY, so it never costs the others a
round trip. Reasons name the case id and the field, never a value (child data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from casebridge.errors import PermanentError
from casebridge.messages import UpsertCommand

OPERATION = "case_upsert"
#: Staging columns of a case, in COPY order (the loader joins the lookup columns in SQL).
CASE_COLUMNS = (
    "case_id",
    "registration_date",
    "case_source",
    "disabled",
    "type_of_case",
    "sex",
    "age",
    "protection_concerns",
    "placement_type",
    "consent_for_reporting",
    "location_code",
    "current_district_key",
    "caregiver_district_key",
)
SERVICE_COLUMNS = ("case_id", "unique_id", "service_type", "service_date")
_TEXT = frozenset(CASE_COLUMNS) - {"registration_date", "age"}
_INT4 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class OnaRows:
    """One command's rows: the case (staging order + version) and its services."""

    key: str
    version: datetime
    case: tuple[Any, ...]
    services: tuple[tuple[Any, ...], ...]


def rows_of(command: UpsertCommand) -> OnaRows:
    """The staging rows of a `case_upsert`; `PermanentError` naming the bad field otherwise."""
    if command.operation != OPERATION:
        raise PermanentError(f"ona has no operation {command.operation!r}; known: {OPERATION}")
    key = command.key.get("case_id")
    if not key:
        raise PermanentError("ona case_upsert key needs 'case_id'")
    version = command.source.updated_at
    if version is None:
        raise PermanentError(f"ona case {key}: the command has no source updated_at (version)")
    if version.tzinfo is None:
        version = version.replace(tzinfo=UTC)
    case = command.payload.get("case")
    services = command.payload.get("services", [])
    if not isinstance(case, dict) or not isinstance(services, list):
        raise PermanentError(f"ona case {key}: payload needs a 'case' object and 'services' list")
    if case.get("case_id") != key:
        raise PermanentError(f"ona case {key}: payload case_id differs from the key")
    values = [_case_value(key, column, case.get(column)) for column in CASE_COLUMNS]
    values.append(version)
    rows = tuple(_service_row(key, version, service) for service in services)
    return OnaRows(key, version, tuple(values), rows)


def _case_value(key: str, column: str, value: Any) -> Any:
    if value is None:
        if column in ("case_id", "case_source"):
            raise PermanentError(f"ona case {key}: {column} is required")
        return None
    if column == "age":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (_INT4[0] <= value <= _INT4[1])
        ):
            raise PermanentError(f"ona case {key}: age is not a whole number in range")
        return value
    if column == "registration_date":
        return _date(key, column, value)
    if not isinstance(value, str):
        raise PermanentError(f"ona case {key}: {column} is not text")
    return value


def _service_row(key: str, version: datetime, service: Any) -> tuple[Any, ...]:
    if not isinstance(service, dict):
        raise PermanentError(f"ona case {key}: a service row is not an object")
    unique_id = service.get("unique_id")
    if not isinstance(unique_id, str) or not unique_id:
        raise PermanentError(f"ona case {key}: a service row has no unique_id")
    if service.get("case_id") != key:
        raise PermanentError(f"ona case {key}: service {unique_id} names another case")
    service_type = service.get("service_type")
    if service_type is not None and not isinstance(service_type, str):
        raise PermanentError(f"ona case {key}: service {unique_id} service_type is not text")
    when = service.get("service_date")
    return (key, unique_id, service_type, _timestamp(key, unique_id, when), version)


def _date(key: str, column: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise PermanentError(f"ona case {key}: {column} is not a date") from None


def _timestamp(key: str, unique_id: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise PermanentError(
            f"ona case {key}: service {unique_id} service_date is not a timestamp"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
