"""Flow C2 (OSCaR -> Primero): case upserts, owners, pending fill, decisions, gaps."""

from __future__ import annotations

from typing import Any

import pytest

from transformer.cambodia import CambodiaTables, map_c2
from transformer.mapping_gap import MappingGap

LINKED_CASE = "173d7ad5-28f8-4343-a3df-dc6d85b38276"


def only(commands: list[Any], operation: str) -> Any:
    [command] = [c for c in commands if c.operation == operation]
    return command


class TestCaseUpsert:
    def test_referred_client_becomes_a_new_case_of_the_province_manager(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        [command] = map_c2(as_client(oscar_clients[0]), tables)

        assert (command.target, command.operation) == ("primero", "case_upsert")
        assert command.key == {"oscar_number": "01EHAZ3XN6DJX0GQGR8R5KV7AZ"}
        assert command.payload == {
            "data": {
                "oscar_number": "01EHAZ3XN6DJX0GQGR8R5KV7AZ",
                "oscar_short_id": "qvmx-1787",
                "mosvy_number": "",
                "name_first": "Mamadou",
                "name_last": "Lakhassane",
                "sex": "other",
                "age": 9,
                "date_of_birth": "2014-09-08",
                "location_current": "2040302",
                "oscar_status": "Accepted",
                "protection_status": "oscar_referral",
                "consent_for_services": True,
                "disclosure_other_orgs": True,
                "risk_level": "no_action",
                "interview_subject": "other",
                "module_id": "primeromodule-cp",
                "owned_by": "mgrbtb",
            }
        }

    def test_enrolled_services_are_provided_by_the_partner(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        [command] = map_c2(as_client(oscar_clients[1]), tables)
        data = command.payload["data"]
        assert data["age"] == 0  # DOB 1800-06-25 is a placeholder
        assert data["owned_by"] == "mgrksp"  # province 05
        first = data["services_section"][0]
        assert first == {
            "unique_id": "827ba321-5ed9-49ce-8494-b70993934733",
            "referral_notes_from_oscar_2e787b8": "Testing June 28 OSCaR to Primero",
            "service_type": "mental_health_support",
            "service_subtype": ["mental_health_support_therapeutic_interventions"],
            "service_type_text": "mental_health_support",
            "service_type_details_text": "n/a",
            "service_response_day_time": "2020-06-29T00:00:00.000Z",
            "service_response_type": "service_being_provided_by_oscar_partner_47618",
            "oscar_case_worker_name": "[redacted]",
            "oscar_case_worker_telephone": "[redacted]",
            "oscar_referring_organization": "agency-cif",
            "service_implementing_agency": "agency-cif",
        }
        assert [row["service_subtype"] for row in data["services_section"][1:]] == [
            ["disability_support_aid_provision"],
            ["family_based_care_longterm_foster"],
            ["family_based_care_domestic_adoption"],
        ]

    def test_not_referred_client_gets_khmer_first_names_and_the_agency_user(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        [command] = map_c2(as_client(oscar_clients[2]), tables)
        data = command.payload["data"]
        assert data["name_first"] == "ទី (Test)"
        assert data["name_last"] == "សុខ (Sok)"
        assert data["owned_by"] == "agency-cif-user"
        assert data["age"] == 18
        for referral_only in ("risk_level", "protection_status", "interview_subject"):
            assert referral_only not in data

    def test_linked_client_keeps_its_owner_and_demographics(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = dict(oscar_clients[4], services=[])
        [command] = map_c2(as_client(client), tables)
        assert command.key == {"case_id": LINKED_CASE}
        assert command.payload == {
            "data": {
                "oscar_number": "01EDN2N13KJQYZJDNNJE68XDQY",
                "case_id": LINKED_CASE,
                "case_id_display": "5b38276",
                "oscar_short_id": "abc-1234",
                "mosvy_number": "",
                "oscar_status": "Accepted",
                "consent_for_services": True,
                "disclosure_other_orgs": True,
                "module_id": "primeromodule-cp",
            }
        }

    @pytest.mark.parametrize(
        ("dob", "age", "stored"),
        [
            ("22012-01-01", 12, "2012-01-01"),
            ("2012-06-02", 11, "2012-06-02"),
            ("2012-06-01", 12, "2012-06-01"),
            ("1990-01-01", 0, "1990-01-01"),
            (None, 0, None),
            ("2015-1-5", 9, "2015-01-05"),  # unpadded: read, and written padded
            ("2015/01/05", 9, "2015-01-05"),
            ("2015-02-30", 0, "2015-02-30"),  # no date: 0, and the value as OSCaR sent it
        ],
    )
    def test_birth_date_cleaning_and_age_at_fetch_time(
        self,
        oscar_clients: list[dict[str, Any]],
        tables: CambodiaTables,
        as_client: Any,
        dob: str | None,
        age: int,
        stored: str | None,
    ) -> None:
        data = map_c2(as_client(dict(oscar_clients[0], date_of_birth=dob)), tables)[0].payload[
            "data"
        ]
        assert (data["age"], data["date_of_birth"]) == (age, stored)

    @pytest.mark.parametrize(
        ("fields", "risk"),
        [
            ({"risk_level": "no action"}, "no_action"),
            ({"risk_level": "high"}, "high"),
            ({"level_of_risk": "medium"}, "medium"),
            ({"level_of_risk": ""}, "no_action"),
        ],
    )
    def test_risk_level_of_referred_clients(
        self,
        oscar_clients: list[dict[str, Any]],
        tables: CambodiaTables,
        as_client: Any,
        fields: dict[str, str],
        risk: str,
    ) -> None:
        data = map_c2(as_client(oscar_clients[0] | fields), tables)[0].payload["data"]
        assert data["risk_level"] == risk

    def test_unmapped_service_name_is_other_with_the_name_kept(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[1]
        client["services"] = [client["services"][0] | {"name": "Yoga"}]
        row = map_c2(as_client(client), tables)[0].payload["data"]["services_section"][0]
        assert (row["service_type"], row["service_subtype"], row["service_type_details_text"]) == (
            "Other",
            [None],
            "Yoga",
        )
        assert "service_type_text" not in row


class TestPendingFill:
    def test_oscar_referral_without_decision_is_filled_with_pending(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        commands = map_c2(as_client(oscar_clients[3]), tables)
        upsert = only(commands, "case_upsert")
        fill = only(commands, "service_status_fill")
        rows = upsert.payload["data"]["services_section"]
        assert [r["service_response_type"] for r in rows] == [
            "service_being_provided_by_oscar_partner_47618",
            "service_being_provided_by_oscar_partner_47618",
            "service_being_provided_by_oscar_partner_47618",
            "referral_from_oscar",
        ]
        assert "referral_status_edf41f2" not in rows[3]
        assert fill.key == upsert.key == {"oscar_number": "01EQJGSV82BG6C4MM0CJ727NEN"}
        assert fill.payload == {
            "data": {
                "services_section": [
                    {
                        "unique_id": "37cd9808-c417-4a19-9563-36ac7865e2f8",
                        "referral_status_edf41f2": "pending_310366",
                    }
                ]
            }
        }
        assert [c.operation for c in commands] == ["case_upsert", "service_status_fill"]

    @pytest.mark.parametrize(
        ("oscar_status", "primero_status"),
        [
            ("Accepted", "accepted_340953"),
            ("Accetped", "accepted_340953"),
            ("Exited", "rejected_936484"),
        ],
    )
    def test_decided_oscar_referrals_carry_their_status_and_need_no_fill(
        self,
        oscar_clients: list[dict[str, Any]],
        tables: CambodiaTables,
        as_client: Any,
        oscar_status: str,
        primero_status: str,
    ) -> None:
        client = oscar_clients[3]
        client["services"][3] |= {"referral_id": 77, "referral_status": oscar_status}
        commands = map_c2(as_client(client), tables)
        row = only(commands, "case_upsert").payload["data"]["services_section"][3]
        assert row["referral_status_edf41f2"] == primero_status
        assert row["oscar_referral_id_a4ac8a5"] == "77"
        assert [c.operation for c in commands] == ["case_upsert"]


class TestDecisionPath:
    def test_linked_client_with_decisions_updates_case_then_decisions(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        commands = map_c2(as_client(oscar_clients[4]), tables)
        assert [c.operation for c in commands] == ["case_upsert", "referral_decision"]
        upsert, decision = commands
        # Services that answer Primero's referrals are not written as new rows.
        assert "services_section" not in upsert.payload["data"]
        assert decision.key == {"case_id": LINKED_CASE}
        # The decided rows carry what the case path's row carries (MAPPINGS A.3.4, A.3.5),
        # except the Primero row's own id, type and subtype.
        from_oscar = {
            "service_response_type": "referral_to_oscar",
            "oscar_case_worker_name": "[redacted]",
            "oscar_case_worker_telephone": "[redacted]",
            "oscar_referring_organization": "agency-cif",
            "service_implementing_agency": "agency-cif",
        }
        assert decision.payload == {
            "decisions": [
                {
                    "oscar_referral_id": "1193",
                    "service_subtype": "family_based_care_longterm_foster",
                    "service": {
                        **from_oscar,
                        "oscar_referral_id_a4ac8a5": "1193",
                        "referral_status_edf41f2": "accepted_340953",
                    },
                    # Primero reads status only (referrals_controller#update_params); the old
                    # job sent no record_type, so none is sent.
                    "referral": {"data": {"status": "accepted", "type": "Referral"}},
                },
                {
                    "oscar_referral_id": "1194",
                    "service_subtype": None,
                    "service": {
                        **from_oscar,
                        "oscar_referral_id_a4ac8a5": "1194",
                        "referral_status_edf41f2": "rejected_936484",
                    },
                    "referral": {"data": {"status": "rejected", "type": "Referral"}},
                },
            ]
        }
        for item in decision.payload["decisions"]:
            assert not {"unique_id", "service_type", "service_subtype"} & set(item["service"])

    def test_undecided_referrals_of_a_linked_client_are_no_decision(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[4]
        for service in client["services"]:
            service["referral_status"] = "Referred"
        assert [c.operation for c in map_c2(as_client(client), tables)] == ["case_upsert"]


class TestGaps:
    def test_stung_treng_has_no_province_user(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[0] | {"location_current_village_code": "19020304"}
        with pytest.raises(MappingGap) as caught:
            map_c2(as_client(client), tables)
        assert str(caught.value) == (
            "no Primero province user for province code 19"
            " (OSCaR client 01EHAZ3XN6DJX0GQGR8R5KV7AZ, location code 19020304)"
        )

    def test_short_codes_with_00_prefix_and_the_ngo_address_fallback(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[0] | {"location_current_village_code": "0004"}
        assert map_c2(as_client(client), tables)[0].payload["data"]["owned_by"] == "mgrkch"
        client = oscar_clients[0] | {"location_current_village_code": ""}
        assert map_c2(as_client(client), tables)[0].payload["data"]["owned_by"] == "mgrpnh"

    def test_province_22_resolves_to_the_last_declared_user(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[0] | {"location_current_village_code": "22010101"}
        assert map_c2(as_client(client), tables)[0].payload["data"]["owned_by"] == "mgromc"

    def test_referred_client_without_any_location_keeps_primero_default_owner(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[0] | {
            "location_current_village_code": "",
            "organization_address_code": "",
        }
        assert "owned_by" not in map_c2(as_client(client), tables)[0].payload["data"]

    @pytest.mark.parametrize(
        ("organization", "reason"),
        [
            ("", "organisation is empty for OSCaR client 01E6AT3BEAFMQDVBHTJHZZ8Y00"),
            (
                "demo",
                "no Primero agency user for organisation demo"
                " (OSCaR client 01E6AT3BEAFMQDVBHTJHZZ8Y00)",
            ),
        ],
    )
    def test_agency_user_gaps(
        self,
        oscar_clients: list[dict[str, Any]],
        tables: CambodiaTables,
        as_client: Any,
        organization: str,
        reason: str,
    ) -> None:
        client = oscar_clients[2] | {"organization_name": organization}
        with pytest.raises(MappingGap) as caught:
            map_c2(as_client(client), tables)
        assert str(caught.value) == reason
        assert "Sok" not in str(caught.value)

    def test_service_without_a_valid_uuid_rejects_the_client(
        self, oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
    ) -> None:
        client = oscar_clients[1]
        client["services"][0]["uuid"] = "1234"
        client["services"][1]["uuid"] = None
        with pytest.raises(MappingGap) as caught:
            map_c2(as_client(client), tables)
        assert str(caught.value) == (
            "OSCaR service uuid 1234 on client 01EC45C3SZ6V0Q5H3KV2D34Q80 is not a lowercase UUID;"
            " OSCaR service Disability-aid provision without uuid on client"
            " 01EC45C3SZ6V0Q5H3KV2D34Q80"
        )

    def test_client_without_global_id(self, tables: CambodiaTables, as_client: Any) -> None:
        with pytest.raises(MappingGap, match="has no global_id"):
            map_c2(as_client({"given_name": "X"}), tables)
