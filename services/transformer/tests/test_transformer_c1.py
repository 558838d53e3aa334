"""Flow C1 (Primero -> OSCaR): referral fan-out, decisions, links, gaps."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from casebridge.errors import PermanentError
from casebridge.skips import Skipped, SkipReason
from transformer.cambodia import CambodiaTables, map_c1
from transformer.cambodia.referral_upsert import BRANCH_A_OPTIONAL
from transformer.mapping_gap import MappingGap, PartlyMapped

CASE_ID = "aac935f2-5e01-450b-8575-423915a04e68"


@pytest.fixture
def referral_case(primero_cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Sample 2: two in-progress referrals to cif and one accepted OSCaR referral."""
    case = primero_cases[1]
    assert case["case_id"] == CASE_ID
    return case


def by_operation(commands: list[Any], operation: str) -> list[Any]:
    return [c for c in commands if c.operation == operation]


class TestReferralUpserts:
    def test_one_upsert_per_referred_service(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        upserts = by_operation(map_c1(as_case(referral_case), tables), "client_upsert")

        assert [c.target for c in upserts] == ["oscar", "oscar"]
        assert [c.payload["organization"]["services"] for c in upserts] == [
            [{"uuid": "00b7078c-f989-4d23-af5c-4712232aab6c", "name": "Community social work"}],
            [{"uuid": "024fd924-4010-46d7-a187-f6b289340d07", "name": "Not Specified"}],
        ]
        assert upserts[0].key == {
            "external_id": CASE_ID,
            "service_uuid": "00b7078c-f989-4d23-af5c-4712232aab6c",
            "referral_id": "8e72817c-74e6-4df2-b96d-d4bcde47f292",
        }

    def test_bodies_equal_the_openfn_bodies_but_for_the_documented_rules(
        self,
        referral_case: dict[str, Any],
        tables: CambodiaTables,
        as_case: Any,
        expected_oscar_bodies: list[Any],
    ) -> None:
        """The 2022 fixture predates rules the current mapping applies; each is asserted here."""
        produced = [
            c.payload for c in by_operation(map_c1(as_case(referral_case), tables), "client_upsert")
        ]
        expected = [{"organization": copy.deepcopy(body)} for body in expected_oscar_bodies[1]]
        for body in expected:
            org = body["organization"]
            # oscar_number set on the case -> global_id (A.2.4).
            org["global_id"] = referral_case["oscar_number"]
            # external_case_worker_name <- owned_by; organization_id <- owned_by_agency_id.
            org["external_case_worker_name"] = referral_case["owned_by"]
            org["organization_id"] = referral_case["owned_by_agency_id"]
        # Empty service_subtype -> 'Not Specified' (the fixture's case had a subtype).
        expected[1]["organization"]["services"][0]["name"] = "Not Specified"
        # reason_for_referral comes from the referral of that very service (its notes are '').
        expected[1]["organization"]["reason_for_referral"] = ""
        # A known child (global_id): OSCaR overwrites its client with what is sent, so blank
        # client fields are left out (REAL-SYSTEMS.md, client.rb:902-925).
        for body in expected:
            org = body["organization"]
            for field in BRANCH_A_OPTIONAL:
                if org.get(field) == "":
                    del org[field]

        assert produced == expected

    def test_only_first_subtype_is_used(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["services_section"][0]["service_subtype"] = [
            "counselling_trauma",
            "social_work_case_work_community",
        ]
        upsert = by_operation(map_c1(as_case(referral_case), tables), "client_upsert")[0]
        assert upsert.payload["organization"]["services"][0]["name"] == "Trauma counselling"

    @pytest.mark.parametrize(
        ("stored", "sent"),
        [("2040302", "02040302"), ("120611", "120611"), ("1", "01"), (12345, "012345"), (None, "")],
    )
    def test_village_code_gets_back_one_leading_zero(
        self,
        referral_case: dict[str, Any],
        tables: CambodiaTables,
        as_case: Any,
        stored: Any,
        sent: str,
    ) -> None:
        referral_case["location_current"] = stored
        org = map_c1(as_case(referral_case), tables)[0].payload["organization"]
        # A known child (global_id): a blank code is left out rather than sent as ''.
        assert org.get("location_current_village_code", "") == sent
        assert org.get("address_current_village_code", "") == sent

    def test_risk_level_no_action_is_spelt_for_oscar(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["risk_level"] = "no_action"
        assert map_c1(as_case(referral_case), tables)[0].payload["organization"][
            "level_of_risk"
        ] == ("no action")

    def test_absent_risk_level_rejects_the_case_with_the_shipped_table(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        """OSCaR refuses a referral without level_of_risk; the shipped default is none."""
        assert tables.risk_to_oscar_default is None
        del referral_case["risk_level"]
        with pytest.raises(MappingGap) as gap:
            map_c1(as_case(referral_case), tables)
        assert f"case {CASE_ID} has no risk_level and OSCaR refuses a referral" in str(gap.value)
        assert "default_when_missing" in str(gap.value)

    def test_absent_risk_level_takes_the_tables_default(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        del referral_case["risk_level"]
        with_default = dataclasses.replace(tables, risk_to_oscar_default="medium")
        upserts = by_operation(map_c1(as_case(referral_case), with_default), "client_upsert")
        assert [u.payload["organization"]["level_of_risk"] for u in upserts] == ["medium"] * 2

    def test_a_risk_level_oscar_refuses_rejects_the_case(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["risk_level"] = "extreme"
        with pytest.raises(MappingGap, match="level_of_risk 'extreme', which OSCaR refuses"):
            map_c1(as_case(referral_case), tables)

    def test_a_known_child_gets_only_the_client_fields_that_have_values(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        for field in ("sex", "mosvy_number", "location_current"):
            referral_case[field] = None
        org = map_c1(as_case(referral_case), tables)[0].payload["organization"]
        assert org["global_id"] == referral_case["oscar_number"]
        for field in ("gender", "mosvy_number", "address_current_village_code"):
            assert field not in org
        assert org["given_name"] == referral_case["name_first"]

    def test_oscar_strings_blank_instead_of_null(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        for field in ("name_first", "name_last", "sex", "date_of_birth", "mosvy_number"):
            referral_case[field] = None
        del referral_case["oscar_number"]
        referral_case["services_section"] = referral_case["services_section"][:2]
        referral_case["workflow"] = "service_provision"
        org = map_c1(as_case(referral_case), tables)[0].payload["organization"]
        assert [org[f] for f in ("given_name", "family_name", "gender", "date_of_birth")] == [
            "",
            "",
            "",
            "",
        ]
        assert org["mosvy_number"] == ""
        assert "global_id" not in org
        assert "resource" not in org
        assert org["external_case_worker_mobile"] == "000000000"
        assert org["is_referred"] is True

    def test_transaction_id_is_the_newest_transition_s(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        """The old job sorted `transitions` newest first in place, then read `[0]`."""
        referral_case["transitions"] = [
            {"transition_id": "old", "created_at": "2021-01-01T00:00:00.000Z"},
            {"transition_id": "new", "created_at": "2022-05-01T00:00:00.000Z"},
            {"transition_id": "mid", "created_at": "2021-06-01T00:00:00.000Z"},
        ]
        upserts = by_operation(map_c1(as_case(referral_case), tables), "client_upsert")
        assert {u.payload["organization"]["transaction_id"] for u in upserts} == {"new"}

    def test_slashed_and_unpadded_source_dates_are_sent_as_iso(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["date_of_birth"] = "2015/1/5"
        referral_case["last_updated_at"] = "2020/07/05 00:40:00"
        raw = as_case({**referral_case, "last_updated_at": "2020-07-05T00:40:00Z"})
        raw = raw.model_copy(update={"payload": referral_case})
        [first, _] = by_operation(map_c1(raw, tables), "client_upsert")
        organization = first.payload["organization"]
        assert (organization["date_of_birth"], organization["date_of_referral"]) == (
            "2015-01-05",
            "2020-07-05",
        )

    def test_referrals_not_in_progress_are_not_sent(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        for referral in referral_case["referrals"]:
            referral["status"] = "accepted"
        assert by_operation(map_c1(as_case(referral_case), tables), "client_upsert") == []

    def test_newest_of_several_open_referrals_of_a_service_is_the_one_sent(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        newer = dict(referral_case["referrals"][0], id="newer", created_at="2023-01-01T00:00:00Z")
        newer["notes"] = "second referral"
        referral_case["referrals"].insert(0, newer)
        upserts = by_operation(map_c1(as_case(referral_case), tables), "client_upsert")
        assert len(upserts) == 2
        assert upserts[0].key["referral_id"] == "newer"
        assert upserts[0].payload["organization"]["reason_for_referral"] == "second referral"

    def test_a_case_without_referrals_sends_no_upsert(
        self, primero_cases: list[dict[str, Any]], tables: CambodiaTables, as_case: Any
    ) -> None:
        skipped = map_c1(as_case(primero_cases[0]), tables)
        assert isinstance(skipped, Skipped)
        assert not skipped
        assert skipped.reason is SkipReason.NOT_APPLICABLE
        assert skipped.detail.startswith(f"case {primero_cases[0]['case_id']} has no in-progress")

    def test_commands_are_deterministic_and_versioned(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        first = map_c1(as_case(referral_case), tables)
        again = map_c1(as_case(copy.deepcopy(referral_case)), tables)
        assert [c.message_id for c in first] == [c.message_id for c in again]
        assert {c.mapping_version for c in first} == {tables.version}
        assert {c.producer for c in first} == {"transformer"}


class TestDecisions:
    def test_accepted_oscar_referral_becomes_one_status_update(
        self,
        referral_case: dict[str, Any],
        tables: CambodiaTables,
        as_case: Any,
        expected_oscar_bodies: list[Any],
    ) -> None:
        [update] = by_operation(map_c1(as_case(referral_case), tables), "update_statuses")
        assert update.target == "oscar"
        assert update.key == {"external_id": CASE_ID}
        assert update.payload == expected_oscar_bodies[2]

    @pytest.mark.parametrize(
        ("status", "sent"),
        [("rejected_936484", "Exited"), ("pending_310366", None), (None, None), ("odd", None)],
    )
    def test_only_decided_statuses_are_sent(
        self,
        referral_case: dict[str, Any],
        tables: CambodiaTables,
        as_case: Any,
        status: str | None,
        sent: str | None,
    ) -> None:
        referral_case["services_section"][2]["referral_status_edf41f2"] = status
        updates = by_operation(map_c1(as_case(referral_case), tables), "update_statuses")
        assert [u.payload["data"][0]["referral_status"] for u in updates] == (
            [sent] if sent else []
        )

    @pytest.mark.parametrize("referral_id", ["", "0", "abc", None])
    def test_decisions_without_an_oscar_referral_id_are_dropped(
        self,
        referral_case: dict[str, Any],
        tables: CambodiaTables,
        as_case: Any,
        referral_id: str | None,
    ) -> None:
        referral_case["services_section"][2]["oscar_referral_id_a4ac8a5"] = referral_id
        assert by_operation(map_c1(as_case(referral_case), tables), "update_statuses") == []

    def test_only_services_referred_from_oscar_are_decisions(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["services_section"][2]["service_response_type"] = "referral_to_oscar"
        assert by_operation(map_c1(as_case(referral_case), tables), "update_statuses") == []


class TestLinks:
    def test_known_oscar_client_without_referral_to_oscar_gets_its_primero_ids(
        self, tables: CambodiaTables, as_case: Any, expected_oscar_bodies: list[Any]
    ) -> None:
        case = {
            "id": "6d1f0b7e-0000-4000-8000-000000000001",
            "case_id": "cf824079-ab8e-4ac4-aac7-4ee58b99939a",
            "case_id_display": "b99939a",
            "oscar_number": "01ER422T8EKDG3A5RM15B39SA5",
            "last_updated_at": "2023-01-01T00:00:00.000Z",
            "services_section": [
                {"unique_id": "x", "service_response_type": "referral_from_oscar"}
            ],
        }
        [link] = map_c1(as_case(case), tables)
        assert (link.target, link.operation) == ("oscar", "update_links")
        assert link.key == {"global_id": "01ER422T8EKDG3A5RM15B39SA5"}
        assert link.payload == expected_oscar_bodies[3]

    def test_cases_referred_to_oscar_or_unknown_to_oscar_get_no_link(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        assert by_operation(map_c1(as_case(referral_case), tables), "update_links") == []
        del referral_case["oscar_number"]
        referral_case["services_section"] = referral_case["services_section"][:2]
        assert by_operation(map_c1(as_case(referral_case), tables), "update_links") == []


class TestGaps:
    def test_unknown_subtype_holds_back_only_its_service_naming_ids_only(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["services_section"][0]["service_subtype"] = ["brand_new_subtype"]
        with pytest.raises(PartlyMapped) as caught:
            map_c1(as_case(referral_case), tables)
        reason = str(caught.value)
        assert reason == (
            "unknown Primero service subtype brand_new_subtype for service"
            f" 00b7078c-f989-4d23-af5c-4712232aab6c of case {CASE_ID}"
        )
        assert isinstance(caught.value, MappingGap)
        assert isinstance(caught.value, PermanentError)
        sent = caught.value.outputs
        assert [(c.operation, c.key.get("service_uuid")) for c in sent] == [
            ("client_upsert", "024fd924-4010-46d7-a187-f6b289340d07"),
            ("update_statuses", None),
        ]
        for child_value in ("Tikwiza", "Quin", "2015-01-01", "10060805", "sample reason"):
            assert child_value not in reason

    def test_a_case_with_nothing_mappable_is_rejected_whole(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["services_section"][0]["service_subtype"] = ["brand_new_subtype"]
        referral_case["services_section"] = referral_case["services_section"][:1]
        with pytest.raises(MappingGap) as caught:
            map_c1(as_case(referral_case), tables)
        assert not isinstance(caught.value, PartlyMapped)

    def test_every_gap_of_the_case_is_in_the_reason(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        referral_case["services_section"][0]["service_subtype"] = ["nope"]
        referral_case["services_section"][1]["service_implementing_agency"] = ""
        with pytest.raises(MappingGap, match=r"subtype nope.*; organisation is empty for service"):
            map_c1(as_case(referral_case), tables)

    def test_case_without_case_id(self, tables: CambodiaTables, as_case: Any) -> None:
        with pytest.raises(MappingGap, match="case abc has no case_id"):
            map_c1(as_case({"id": "abc", "services_section": []}), tables)

    def test_decisions_on_a_case_without_oscar_number_never_hold_back_its_referrals(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        """Issue 11 §3: a new referral and an undeliverable decision on one case."""
        del referral_case["oscar_number"]
        with pytest.raises(PartlyMapped) as caught:
            map_c1(as_case(referral_case), tables)
        assert str(caught.value) == f"case {CASE_ID} has OSCaR decisions but no oscar_number"
        sent = caught.value.outputs
        assert [c.operation for c in sent] == ["client_upsert", "client_upsert"]
        assert "global_id" not in sent[0].payload["organization"]

    def test_a_replayed_partly_mapped_case_yields_the_same_command_ids(
        self, referral_case: dict[str, Any], tables: CambodiaTables, as_case: Any
    ) -> None:
        """What makes a replay harmless: the loaders already hold these ids as processed."""
        del referral_case["oscar_number"]
        ids = []
        for _ in range(2):
            with pytest.raises(PartlyMapped) as caught:
                map_c1(as_case(copy.deepcopy(referral_case)), tables)
            ids.append([c.message_id for c in caught.value.outputs])
        assert ids[0] == ids[1]
        assert len(set(ids[0])) == 2
