"""What each pushed body must hold before it is accepted, and the raw record it becomes.

Only what routing and correlation need is checked here: `request_type`, a non-empty
`interventions` array of objects, and per intervention the id the answer to DTP is keyed by
(`progres_interventionnumber` for a referral; `progres_orgreferralid` and
`progres_reviewdecision` for a decision). Missing child data (name, date of birth, service type)
is not the inbox's business: P1 answers it to DTP per intervention with a "Delivery Fail"
feedback, as the DTP protocol expects (MAPPINGS B.1).

The OpenAPI document's body schemas (`DTP_BODY_SCHEMA`, `PRIMERO_BODY_SCHEMA`) are built from the
same rules, so the document says exactly what is accepted: a body valid against it is never
refused with 422, and one it forbids is never accepted (a schemathesis test holds them to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casebridge.messages import RawRecord, SourceRef

PRODUCER = "inbox"
REFERRAL = "PrimeroOutgoingReferral"
DECISION = "PrimeroIncomingReferralDecision"
REQUEST_TYPES = (REFERRAL, DECISION)
#: A required id holds at least one character other than a space, tab, CR or LF. Spelled out
#: (not `\S`): Python's and JSON Schema's notions of white space differ at the edges.
NON_BLANK = "[^ \t\r\n]"
_NON_BLANK = re.compile(NON_BLANK)
#: RFC 3339 date-time (what `format: date-time` means), seconds 00-60 (a leap second is valid).
_DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True)
class Invalid(Exception):
    """The body breaks its contract; `field` names where (a JSON path), `message` says how."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class _Route:
    flow: str
    record_type: str
    required: tuple[str, ...]
    id_field: str


_DTP_ROUTES = {
    REFERRAL: _Route(
        "p1", "referral", ("progres_interventionnumber",), "progres_interventionnumber"
    ),
    DECISION: _Route(
        "p4",
        "decision",
        ("progres_orgreferralid", "progres_reviewdecision"),
        "progres_orgreferralid",
    ),
}


def dtp_record(body: Any, *, route: str = "/inbox/dtp") -> RawRecord:
    """The raw record of a DTP webhook: flow p1 (referral) or p4 (decision) by `request_type`."""
    if not isinstance(body, dict):
        raise Invalid("body", "must be a JSON object")
    request_type = body.get("request_type")
    if request_type in (None, ""):
        raise Invalid("request_type", f"is required (one of {', '.join(REQUEST_TYPES)})")
    if not isinstance(request_type, str) or request_type not in _DTP_ROUTES:
        raise Invalid(
            "request_type",
            f"unknown request_type {str(request_type)[:60]!r}; expected one of"
            f" {', '.join(REQUEST_TYPES)}",
        )
    spec = _DTP_ROUTES[request_type]
    interventions = body.get("interventions")
    if not isinstance(interventions, list) or not interventions:
        raise Invalid("interventions", "is required: a non-empty array of objects")
    ids: list[str] = []
    for index, item in enumerate(interventions):
        where = f"interventions[{index}]"
        if not isinstance(item, dict):
            raise Invalid(where, "must be an object")
        for name in spec.required:
            value = item.get(name)
            if not _non_blank(value):
                raise Invalid(f"{where}.{name}", "is required (a non-empty string)")
        ids.append(item[spec.id_field])
    return RawRecord.of(
        flow=spec.flow,
        source=SourceRef(system="dtp", record_type=spec.record_type, record_id=",".join(ids)),
        payload=body,
        producer=PRODUCER,
        query=route,
    )


def primero_record(body: Any, *, route: str = "/inbox/primero") -> RawRecord:
    """The raw record of Primero's outgoing case webhook (API.md §1.7): flow p2 (decisions).

    Its version is the case's `last_updated_at`, so a webhook and the poll of the same case
    version give the same message id (and the loader applies it once).
    """
    if not isinstance(body, dict):
        raise Invalid("body", "must be a JSON object")
    data = body.get("data")
    if not isinstance(data, dict):
        raise Invalid("data", "is required: an object with the case")
    record_id = data.get("record_id")
    if not _non_blank(record_id):
        raise Invalid("data.record_id", "is required (a non-empty string)")
    assert isinstance(record_id, str)
    if data.get("record_type") != "case":
        raise Invalid("data.record_type", "must be 'case' (only case webhooks are routed)")
    updated = data.get("last_updated_at")
    version = None if updated is None else _version(updated)
    # The case as the fetchers publish it: the record's fields, `id` = Primero's record id.
    case = {k: v for k, v in data.items() if k not in ("record_id", "record_type", "hostname")}
    case["id"] = record_id
    return RawRecord.of(
        flow="p2",
        source=SourceRef(
            system="primero", record_type="case", record_id=record_id, updated_at=version
        ),
        payload=case,
        producer=PRODUCER,
        query=route,
    )


def _non_blank(value: Any) -> bool:
    return isinstance(value, str) and _NON_BLANK.search(value) is not None


def _version(value: Any) -> datetime:
    """An RFC 3339 date-time; a leap second (:60) counts as the last instant of its minute."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise Invalid("data.last_updated_at", "must be an RFC 3339 date-time or null")
    text = value.upper().replace("Z", "+00:00")
    leap = text[17:19] == "60"
    if leap:
        text = f"{text[:17]}59{text[19:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:  # matches the pattern, names no real day or time (2024-02-30)
        raise Invalid("data.last_updated_at", "must be an RFC 3339 date-time or null") from exc
    return parsed.replace(microsecond=999_999) if leap else parsed


_NON_BLANK_STRING: dict[str, Any] = {"type": "string", "pattern": NON_BLANK}


def _dtp_variant(request_type: str, route: _Route) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["request_type", "interventions"],
        "properties": {
            "request_type": {"const": request_type},
            "interventions": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": list(route.required),
                    "properties": dict.fromkeys(route.required, _NON_BLANK_STRING),
                },
            },
        },
    }


DTP_BODY_SCHEMA: dict[str, Any] = {
    "oneOf": [_dtp_variant(name, route) for name, route in _DTP_ROUTES.items()]
}
PRIMERO_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "object",
            "required": ["record_id", "record_type"],
            "properties": {
                "record_id": _NON_BLANK_STRING,
                "record_type": {"const": "case"},
                "last_updated_at": {
                    "description": "RFC 3339 date-time, or null",
                    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                },
            },
        }
    },
}
