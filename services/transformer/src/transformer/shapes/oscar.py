"""OSCaR client shapes (flows C0, C2): the fields each mapping reads from an OSCaR client
(`GET /api/v1/organizations/clients`), with the types it assumes."""

from __future__ import annotations

from transformer.shapes.fields import Scalar, Shape


class C0Client(Shape):
    """Flow C0 (OSCaR ids -> Primero)."""

    external_id: Scalar = None
    external_id_display: Scalar = None
    global_id: Scalar = None
    slug: Scalar = None
    mosvy_number: Scalar = None


class C2Service(Shape):
    """An entry of the client's `services` (OSCaR's referral and enrolment per service)."""

    uuid: Scalar = None
    name: Scalar = None
    enrollment_date: Scalar = None
    referral_id: Scalar = None
    referral_status: Scalar = None
    reason_for_referral: Scalar = None


class C2Client(C0Client):
    """Flow C2 (OSCaR -> Primero)."""

    status: Scalar = None
    reason_for_exiting: Scalar = None
    is_referred: Scalar = None
    resource: Scalar = None
    risk_level: Scalar = None
    level_of_risk: Scalar = None
    gender: Scalar = None
    date_of_birth: Scalar = None
    given_name: Scalar = None
    family_name: Scalar = None
    local_given_name: Scalar = None
    local_family_name: Scalar = None
    location_current_village_code: Scalar = None
    address_current_village_code: Scalar = None
    organization_address_code: Scalar = None
    organization_name: Scalar = None
    reason_for_referral: Scalar = None
    case_worker_name: Scalar = None
    case_worker_mobile: Scalar = None
    services: list[C2Service] | None = None
