"""P1-P4 mappings on the reference samples: exact bodies, gaps as DTP feedback, dedup keys."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casebridge.messages import RawRecord, SourceRef
from casebridge.skips import Skipped
from transformer.cambodia import load_tables
from transformer.flows import FlowRouter, packaged_mappers
from transformer.mapping_gap import MappingGap
from transformer.progres import (
    ProgresTables,
    load_progres_tables,
    map_p1,
    map_p2,
    map_p3,
    map_p4,
    service_unique_id,
)

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
INTAKE = "progresv4_primero_intake@cpims-gambella.primero.org"


def samples(name: str) -> list[dict[str, Any]]:
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


def raw(flow: str, payload: dict[str, Any], system: str = "dtp") -> RawRecord:
    record = RawRecord.of(
        flow=flow,
        source=SourceRef(system=system, record_type="x", record_id=str(payload.get("id", "x"))),
        payload=payload,
        producer="tests",
    )
    return record.model_copy(update={"produced_at": FETCHED_AT})


@pytest.fixture(scope="module")
def tables() -> ProgresTables:
    return load_progres_tables()


def test_p1_sample_1_alternative_care_exact_case_body(tables: ProgresTables) -> None:
    [command] = map_p1(raw("p1", samples("progres-referrals.json")[0]), tables)

    assert (command.target, command.operation) == ("primero", "progres_case_upsert")
    assert command.key == {"unhcr_individual_no": "989-00000226"}
    assert command.payload == {
        "data": {
            "unhcr_individual_no": "989-00000226",
            "unhcr_id_no": "989-22-00200",
            "name_first": "Alfred",
            "name_middle": None,  # empty in DTP: clears Primero's on update
            "name_last": "S-C",
            "name_nickname": "Alfie",
            "date_of_birth": "2014-06-06",
            "age": 12,
            "sex": "male",
            "telephone_current": "+4612312345",
            "address_current": "Gambela Agnuak Abobo   ",
            "language": ["language6"],
            "status": "open",
            "owned_by": INTAKE,
            "module_id": "primeromodule-cp",
            "services_section": [
                {
                    "unique_id": service_unique_id("989-22-PRTITV-0000051"),
                    "service_response_day_time": "2022-08-22T00:00:00Z",
                    "service_request_external": True,
                    "service_request_title": "Associate Child Protection and SGBV Officer",
                    "service_request_agency": "UNHCR",
                    "service_request_phone": None,
                    "service_request_email": "scl-test@unhcr.org",
                    "service_referral_notes": " This is a check for the address ",
                    "service_type": "alternative_care",
                    "service_implementing_agency": "UNICEF",
                    "service_response_type": "service_provision",
                    "service_referral": "external_referral",
                    "unhcr_referral_status": "pending",
                    "progres_interventionnumber": "989-22-PRTITV-0000051",
                }
            ],
        }
    }


def test_p1_bia_notes_keep_the_json_comment_string(tables: ProgresTables) -> None:
    [command] = map_p1(raw("p1", samples("progres-referrals.json")[1]), tables)
    [row] = command.payload["data"]["services_section"]
    assert row["service_type"] == "focuses_non_specialized_mhpss_care"
    assert row["service_referral_notes"].startswith(" Testing the address ,[{")
    assert command.payload["data"]["language"] is None  # absent -> null (MAPPINGS B.1)


@pytest.mark.parametrize("cleared", [None, "", "absent"])
def test_p1_a_field_dtp_leaves_empty_is_sent_as_null_to_clear_primero(
    tables: ProgresTables, cleared: str | None
) -> None:
    """Demographics are overwritten on update (MAPPINGS B.1): a blank must overwrite too."""
    referral = copy.deepcopy(samples("progres-referrals.json")[0])
    [item] = referral["interventions"]
    for key in (
        "individuals.progres_commonyusedname",
        "individuals.progres_primaryphonenumber",
        "languages.progres_languagecodeid",
        "user.internalemailaddress",
    ):
        if cleared == "absent":
            item.pop(key, None)
        else:
            item[key] = cleared
    [command] = map_p1(raw("p1", referral), tables)
    data = command.payload["data"]
    assert (data["name_nickname"], data["telephone_current"], data["language"]) == (
        None,
        None,
        None,
    )
    assert data["services_section"][0]["service_request_email"] is None
    assert data["name_first"] == "Alfred"


@pytest.mark.parametrize(
    ("index", "number"), [(2, "DAD-21-PRTITV-0000141"), (3, "NUR-21-PRTITV-0000079")]
)
def test_p1_unsupported_or_absent_service_is_a_delivery_fail(
    tables: ProgresTables, index: int, number: str
) -> None:
    [command] = map_p1(raw("p1", samples("progres-referrals.json")[index]), tables)

    assert (command.target, command.operation) == ("progres", "feedback")
    assert command.payload["body"] == {
        "progres_interventionnumber": number,
        "status": "Delivery Fail",
        "closure_reason": "Intervention type value shared is not one of the 4 accepted"
        " interagency referral service types. Please see the mapping specifications.",
        "request_type": "Feedback",
    }


def test_p1_missing_and_invalid_fields_are_classified_per_intervention(
    tables: ProgresTables,
) -> None:
    good = samples("progres-referrals.json")[0]["interventions"][0]
    missing = {k: v for k, v in good.items() if k != "individuals.progres_givenname"}
    missing["progres_interventionnumber"] = "N-MISSING"
    invalid = {**good, "individuals.progres_dateofbirth": "unknown"}
    invalid["progres_interventionnumber"] = "N-INVALID"
    body = {"request_type": "PrimeroOutgoingReferral", "interventions": [good, missing, invalid]}

    commands = map_p1(raw("p1", body), tables)

    by_key = {
        c.key.get("progres_interventionnumber") or c.key["unhcr_individual_no"]: c for c in commands
    }
    assert set(by_key) == {"989-00000226", "N-MISSING", "N-INVALID"}
    assert (
        by_key["N-MISSING"]
        .payload["body"]["closure_reason"]
        .startswith("Intervention referral is missing fields")
    )
    assert "individuals.progres_givenname" in by_key["N-MISSING"].payload["reason"]
    assert (
        by_key["N-INVALID"]
        .payload["body"]["closure_reason"]
        .startswith("Intervention referral has provided invalid data")
    )


def test_p1_same_intervention_twice_is_one_row_and_two_interventions_are_two(
    tables: ProgresTables,
) -> None:
    item = samples("progres-referrals.json")[0]["interventions"][0]
    other = {**item, "progres_interventionnumber": "989-22-PRTITV-0000052"}
    twice = {"request_type": "PrimeroOutgoingReferral", "interventions": [item, item]}
    two = {"request_type": "PrimeroOutgoingReferral", "interventions": [item, other]}

    [once] = map_p1(raw("p1", twice), tables)
    [both] = map_p1(raw("p1", two), tables)

    assert len(once.payload["data"]["services_section"]) == 1
    assert [r["progres_interventionnumber"] for r in both.payload["data"]["services_section"]] == [
        "989-22-PRTITV-0000051",
        "989-22-PRTITV-0000052",
    ]
    assert map_p1(raw("p1", twice), tables)[0].message_id == once.message_id


@pytest.mark.parametrize("born", ["2014/06/06", "2014-6-6", "2014-06-06T00:00:00Z"])
def test_p1_birth_dates_in_any_source_spelling(tables: ProgresTables, born: str) -> None:
    referral = copy.deepcopy(samples("progres-referrals.json")[0])
    referral["interventions"][0]["individuals.progres_dateofbirth"] = born
    [command] = map_p1(raw("p1", referral), tables)
    assert (command.payload["data"]["date_of_birth"], command.payload["data"]["age"]) == (
        "2014-06-06",
        12,
    )


def test_p1_primero_id_is_sent_as_case_id(tables: ProgresTables) -> None:
    body = copy.deepcopy(samples("progres-referrals.json")[0])
    body["interventions"][0]["progres_primeroid"] = "b30cba6b-8d97-4524-b77f-a8f50cfcc974"
    [command] = map_p1(raw("p1", body), tables)
    assert command.payload["data"]["case_id"] == "b30cba6b-8d97-4524-b77f-a8f50cfcc974"


def test_p4_accepted_sample_and_rejection_reason_with_the_misspelt_keys(
    tables: ProgresTables,
) -> None:
    [command] = map_p4(raw("p4", samples("progres-decisions.json")[0]), tables)
    assert (command.target, command.operation) == ("primero", "progres_referral_decision")
    assert command.key == {"case_id": "f59e880e-d58f-4b68-ba6e-e0616a49aefd"}
    assert command.payload == {
        "decisions": [
            {
                "service_suffix": "eb097be51d89",
                "progres_interoperabilityreferralnumber": "REF-IOP-DAD-000000112",
                "data": {"status": "accepted", "type": "Referral", "record_type": "case"},
            }
        ]
    }
    rejected = copy.deepcopy(samples("progres-decisions.json")[0])
    item = rejected["interventions"][0]
    item.update(
        {
            "progres_reviewdecision": "125080001",
            "progres_interoperabiltyreferralrejectionreason": "125080001",
            "progres_interoperabilityreferralrejectionomment": "wrong child",
        }
    )
    [command] = map_p4(raw("p4", rejected), tables)
    assert command.payload["decisions"][0]["data"] == {
        "status": "rejected",
        "type": "Referral",
        "record_type": "case",
        "rejected_reason": "Individual Not Match UNHCR ID: wrong child",
    }


@pytest.mark.parametrize("index", [2, 3])
def test_p4_samples_without_a_correlation_id_are_gaps(tables: ProgresTables, index: int) -> None:
    with pytest.raises(MappingGap, match="progres_orgreferralid 'string'"):
        map_p4(raw("p4", samples("progres-decisions.json")[index]), tables)


def test_p4_unmapped_review_code_is_a_gap(tables: ProgresTables) -> None:
    body = copy.deepcopy(samples("progres-decisions.json")[0])
    body["interventions"][0]["progres_reviewdecision"] = "125080003"
    with pytest.raises(MappingGap, match="125080003"):
        map_p4(raw("p4", body), tables)


def test_p2_decision_on_the_sample_case(tables: ProgresTables) -> None:
    case = samples("primero-cases.json")[3]
    [command] = map_p2(raw("p2", case, "primero"), tables)
    assert (command.target, command.operation) == ("progres", "decision")
    assert command.key == {
        "progres_interventionnumber": "DAD-21-PRTITV-0000199",
        "status": "rejected",
    }
    assert command.payload == {
        "body": {
            "case_id": "b30cba6b-8d97-4524-b77f-a8f50cfcc974",
            "primero_user": INTAKE,
            "progres_interventionnumber": "DAD-21-PRTITV-0000199",
            "status": "rejected",
            "closure_reason": "Not able to provide service due to shortage of staff",
            "request_type": "ReceiveDecisionOutgoingReferral",
        }
    }
    accepted = copy.deepcopy(case)
    accepted["services_section"][0]["unhcr_referral_status"] = "accepted"
    del accepted["services_section"][0]["unhcr_referral_rejection_reason"]
    [command] = map_p2(raw("p2", accepted, "primero"), tables)
    assert command.payload["body"]["status"] == "acknowledged"
    assert command.payload["body"]["closure_reason"] == "No reason specified."
    pending = copy.deepcopy(case)
    pending["services_section"][0]["unhcr_referral_status"] = "pending"
    skipped = map_p2(raw("p2", pending, "primero"), tables)
    assert isinstance(skipped, Skipped)
    assert skipped.outcome == "skipped_not_applicable"
    assert "no accepted or rejected external referral" in skipped.detail


def test_p3_sample_case_gives_the_reference_outbound_body(tables: ProgresTables) -> None:
    case = copy.deepcopy(samples("primero-cases.json")[2])
    expected = samples("dtp-outbound-messages.json")[1]
    never_referred = map_p3(raw("p3", case, "primero"), tables)
    assert isinstance(never_referred, Skipped)  # nothing sent, and why
    assert "no UNHCR-implemented service that a referral points at" in never_referred.detail
    case["referrals"] = [{"service_record_id": "66299d30-7d59-40aa-a4fc-289669d0e16a"}]

    [command] = map_p3(raw("p3", case, "primero"), tables)

    assert (command.target, command.operation) == ("progres", "referral")
    assert command.key == {"id": "234bbac3-7278-430a-98b5-1abc460671ec#289669d0e16a"}
    assert command.payload == {"body": expected}


def test_p3_contact_falls_back_and_unmapped_service_type_is_omitted(
    tables: ProgresTables,
) -> None:
    case = copy.deepcopy(samples("primero-cases.json")[2])
    case["referrals"] = [{"service_record_id": "66299d30-7d59-40aa-a4fc-289669d0e16a"}]
    del case["user"]
    case["services_section"][0]["service_type"] = "not_in_the_table"
    [command] = map_p3(raw("p3", case, "primero"), tables)
    body = command.payload["body"]
    assert (body["position"], body["email"], body["phone"], body["full_name"]) == (
        "CPIMS+ Administrator",
        "notavailable@primero.org",
        "0000000000",
        "CPIMS+",
    )
    assert "service_type" not in body


def test_the_router_maps_p1_to_p4() -> None:
    router = FlowRouter(packaged_mappers(load_tables()))
    assert {"p1", "p2", "p3", "p4"} <= set(router.flows)
