"""The simulator's rows: clients, their program enrollments, and referrals.

Timestamps are kept (OSCaR never serializes them) because ``since_date`` filters on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Direction = Literal["outbound", "inbound"]


@dataclass(slots=True)
class ProgramService:
    """An enrollment-derived service: ``enrollment_date`` set means "being provided"."""

    uuid: str
    name: str
    program_name: str | None
    enrollment_date: str | None


@dataclass(slots=True)
class Client:
    id: int
    slug: str
    global_id: str
    tenant: str
    given_name: str | None
    family_name: str | None
    local_given_name: str | None
    local_family_name: str | None
    gender: str | None
    date_of_birth: str | None
    location_code: str
    status: str
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    external_id_display: str | None = None
    mosvy_number: str | None = None
    case_worker_name: str = ""
    case_worker_mobile: str = ""
    external_case_worker_name: str | None = None
    external_case_worker_id: str | None = None
    reason_for_referral: str | None = None
    referred_external: bool = False
    program_services: list[ProgramService] = field(default_factory=list)
    synced_date: date | None = None

    def is_complete(self) -> bool:
        """OSCaR's feed only ever returns clients with a name, a gender and a DOB."""
        return bool(
            (self.given_name or self.local_given_name)
            and (self.family_name or self.local_family_name)
            and self.gender
            and self.date_of_birth
        )


@dataclass(slots=True)
class Referral:
    """``outbound``: an NGO referred the client to the external system (feed set 1).
    ``inbound``: the external system referred the child to an NGO (created by upsert)."""

    id: int
    direction: Direction
    client_global_id: str
    external_system: str
    tenant: str
    services: list[tuple[str, str]]
    referral_status: str
    created_at: datetime
    external_id: str | None = None
    external_id_display: str | None = None
    client_id: int | None = None
    level_of_risk: str | None = None
    reason: str = "N/A"
    consent_form: list[str] = field(default_factory=list)
    # The child as described by the referring side, kept for intake.
    given_name: str | None = None
    family_name: str | None = None
    gender: str | None = None
    date_of_birth: str | None = None
    location_code: str = ""
    mosvy_number: str | None = None
    name_of_referee: str | None = None
    referral_phone: str | None = None
