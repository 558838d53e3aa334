"""What each pushed body must hold before it is accepted, and the raw record it becomes.

Only what routing and correlation need is checked here: `request_type`, a non-empty
`interventions` array of objects, and per intervention the id the answer to DTP is keyed by
(`progres_interventionnumber` for a referral; `progres_orgreferralid` and
`progres_reviewdecision` for a decision). Missing child data (name, date of birth, service type)
is not the inbox's business: P1 answers it to DTP per intervention with a "Delivery Fail"
feedback, as the DTP protocol expects (MAPPINGS B.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casebridge.messages import RawRecord, SourceRef

PRODUCER = "inbox"
REFERRAL = "PrimeroOutgoingReferral"
DECISION = "PrimeroIncomingReferralDecision"
REQUEST_TYPES = (REFERRAL, DECISION)


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
            if not isinstance(value, str) or not value.strip():
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
    if not isinstance(record_id, str) or not record_id.strip():
        raise Invalid("data.record_id", "is required (a non-empty string)")
    if data.get("record_type") != "case":
        raise Invalid("data.record_type", "must be 'case' (only case webhooks are routed)")
    updated = data.get("last_updated_at")
    version: datetime | None = None
    if updated is not None:
        try:
            version = datetime.fromisoformat(str(updated).replace("Z", "+00:00"))
        except ValueError as exc:
            raise Invalid("data.last_updated_at", "must be an ISO-8601 time") from exc
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
