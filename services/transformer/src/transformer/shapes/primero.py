"""Primero case shapes, one per flow that reads cases (C1, O1, P2, P3): the fields that flow's
mapping reads, with the types it assumes (Primero v2 `GET /api/v2/cases` record fields)."""

from __future__ import annotations

from transformer.shapes.fields import Scalar, Scalars, Shape


class C1Service(Shape):
    """A `services_section` row as the referral, decision and link selections read it."""

    unique_id: Scalar = None
    service_type: Scalar = None
    service_subtype: Scalars = None
    service_response_type: Scalar = None
    oscar_referring_organization: Scalar = None
    service_implementing_agency: Scalar = None
    referral_status_edf41f2: Scalar = None
    oscar_referral_id_a4ac8a5: Scalar = None


class C1Referral(Shape):
    """An entry of the case's `referrals` (attached by fetcher-primero)."""

    id: Scalar = None
    service_record_id: Scalar = None
    status: Scalar = None
    created_at: Scalar = None
    notes: Scalar = None


class Transition(Shape):
    """An entry of `transitions`: only the newest one's id is read."""

    id: Scalar = None
    transition_id: Scalar = None
    created_at: Scalar = None


class C1Case(Shape):
    """Flow C1 (Primero -> OSCaR)."""

    id: Scalar = None
    case_id: Scalar = None
    case_id_display: Scalar = None
    oscar_number: Scalar = None
    mosvy_number: Scalar = None
    name_first: Scalar = None
    name_last: Scalar = None
    sex: Scalar = None
    date_of_birth: Scalar = None
    location_current: Scalar = None
    risk_level: Scalar = None
    workflow: Scalar = None
    owned_by: Scalar = None
    owned_by_id: Scalar = None
    owned_by_phone: Scalar = None
    owned_by_agency_id: Scalar = None
    last_updated_at: Scalar = None
    services_section: list[C1Service] | None = None
    referrals: list[C1Referral] | None = None
    transitions: list[Transition] | None = None


class O1Service(Shape):
    unique_id: Scalar = None
    service_type: Scalar = None
    service_implemented_day_time: Scalar = None


class O1Case(Shape):
    """Flow O1 (Primero -> ONA). `age` is left to the mapping, whose reason already names it."""

    case_id_display: Scalar = None
    registration_date: Scalar = None
    oscar_number: Scalar = None
    disability_type: Scalar = None
    type_of_case: Scalar = None
    sex: Scalar = None
    protection_concerns: list[Scalar] | None = None
    type_of_placement: Scalar = None
    consent_reporting: Scalar = None
    location_current: Scalar = None
    location_caregiver: Scalar = None
    services_section: list[O1Service] | None = None


class P2Service(Shape):
    progres_interventionnumber: Scalar = None
    service_referral: Scalar = None
    unhcr_referral_status: Scalar = None
    unhcr_referral_rejection_reason: Scalar = None


class P2Case(Shape):
    """Flow P2 (decisions on proGres referrals -> DTP)."""

    id: Scalar = None
    case_id: Scalar = None
    owned_by: Scalar = None
    services_section: list[P2Service] | None = None


class P3Service(Shape):
    unique_id: Scalar = None
    service_implementing_agency: Scalar = None
    service_response_day_time: Scalar = None
    service_type: Scalar = None
    service_type_other: Scalar = None
    service_referral_notes: Scalar = None


class P3Referral(Shape):
    service_record_id: Scalar = None


class P3User(Shape):
    """The owner's Primero user record, attached by fetcher-primero under `user`."""

    position: Scalar = None
    email: Scalar = None
    phone: Scalar = None
    full_name: Scalar = None


class P3Case(Shape):
    """Flow P3 (Primero referrals to UNHCR -> DTP)."""

    id: Scalar = None
    case_id: Scalar = None
    owned_by: Scalar = None
    unhcr_individual_no: Scalar = None
    unhcr_id_no: Scalar = None
    name_first: Scalar = None
    name_middle: Scalar = None
    name_last: Scalar = None
    name_nickname: Scalar = None
    date_of_birth: Scalar = None
    sex: Scalar = None
    address_current: Scalar = None
    telephone_current: Scalar = None
    language: Scalars = None
    user: P3User | None = None
    referrals: list[P3Referral] | None = None
    services_section: list[P3Service] | None = None
