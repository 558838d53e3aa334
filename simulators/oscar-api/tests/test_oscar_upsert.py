"""API.md §2.3 upsert: branch A (known global_id), branch B (first referral), 422 bodies."""

from __future__ import annotations

import pytest

from oscar_sim.paths import CLIENTS, UPSERT

SERVICE = {"uuid": "f3e2d1c0-b9a8-4765-8432-10fedcba9876", "name": "Trauma counselling"}


def referral(**overrides):
    """An OpenFn-style body: nulls sent as "" and extra keys OSCaR drops."""
    organization = {
        "global_id": "",
        "external_id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e",
        "external_id_display": "b4c5d6e",
        "mosvy_number": "",
        "given_name": "Sophea",
        "family_name": "Chan",
        "gender": "female",
        "date_of_birth": "2014-01-02",
        "location_current_village_code": "12010203",
        "address_current_village_code": "12010203",
        "reason_for_referral": "",
        "organization_id": "agency-cif",
        "organization_name": "cif",
        "external_case_worker_name": "openfn_cp_user",
        "external_case_worker_id": "42",
        "external_case_worker_mobile": "000000000",
        "external_case_worker_email": "",
        "level_of_risk": "medium",
        "is_referred": True,
        "referral_status": "",
        "services": [SERVICE],
        "date_of_referral": "2025-03-20",
        "resource": "Primero",
        "transaction_id": "",
    }
    organization.update(overrides)
    return {"organization": organization}


def post(oscar, http, auth, body):
    return http.post(oscar.url + UPSERT, headers=auth, json=body)


def inbound(oscar):
    return [r for r in oscar.sim.store.referrals.values() if r.direction == "inbound"]


def test_first_referral_mints_a_global_id_and_returns_external_id(oscar, http, auth):
    response = post(oscar, http, auth, referral())
    assert response.status_code == 200
    assert response.json() == {
        "external_id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e",
        "message": "Record saved.",
    }
    (saved,) = inbound(oscar)
    assert len(saved.client_global_id) == 26
    assert saved.client_global_id in oscar.sim.store.global_ids
    assert saved.referral_status == "Referred"  # "" is blank -> DB default
    assert saved.reason == "N/A"  # "" is blank -> default reason
    assert saved.services == [(SERVICE["uuid"], SERVICE["name"])]


def test_trailing_slash_path_used_by_openfn_is_served(oscar, http, auth):
    response = http.post(oscar.url + UPSERT + "/", headers=auth, json=referral())
    assert response.status_code == 200


def test_repeat_first_referral_before_intake_creates_another_referral(oscar, http, auth):
    assert post(oscar, http, auth, referral()).status_code == 200
    assert post(oscar, http, auth, referral()).status_code == 200
    first, second = inbound(oscar)
    assert first.client_global_id == second.client_global_id


def test_repeat_first_referral_after_client_exists_is_record_was_found(oscar, http, auth):
    post(oscar, http, auth, referral())
    (saved,) = inbound(oscar)
    assert http.post(oscar.url + f"/__sim/referrals/{saved.id}/intake").status_code == 200
    response = post(oscar, http, auth, referral())
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Record was found."
    assert body["external_id"] == "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e"
    assert "global_id" in body["errors"]
    assert len(inbound(oscar)) == 1


def test_known_global_id_adds_a_referral_and_updates_the_client(oscar, http, auth):
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    http.post(oscar.url + f"/__sim/referrals/{first.id}/intake")
    second = referral(
        global_id=first.client_global_id,
        given_name="Sopheap",
        mosvy_number="PP-1",
        services=[{"uuid": "x", "name": "Kinship care"}],
    )
    response = post(oscar, http, auth, second)
    assert response.status_code == 200
    assert response.json()["message"] == "Record saved."
    assert len(inbound(oscar)) == 2
    (client,) = oscar.sim.store.clients_with_global_id(first.client_global_id)
    assert client.given_name == "Sopheap"
    assert client.mosvy_number == "PP-1"
    assert client.synced_date is not None


def test_known_global_id_status_update_sets_the_latest_referral(oscar, http, auth):
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    http.post(oscar.url + f"/__sim/referrals/{first.id}/intake", json={"status": "Active"})
    update = referral(global_id=first.client_global_id, is_referred=False, referral_status="Exited")
    assert post(oscar, http, auth, update).status_code == 200
    assert len(inbound(oscar)) == 1
    assert first.referral_status == "Exited"


def test_known_global_id_with_a_bad_status_is_422(oscar, http, auth):
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    http.post(oscar.url + f"/__sim/referrals/{first.id}/intake")
    update = referral(global_id=first.client_global_id, is_referred="", referral_status="Active")
    response = post(oscar, http, auth, update)
    assert response.status_code == 422
    assert response.json()["message"] == (
        "Referral status must be one of ['Accepted', 'Exited', 'Referred']."
    )


def known_child(oscar, http, auth, **client):
    """A child with an OSCaR client in cif (first referral, then the NGO's intake)."""
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    assert http.post(oscar.url + f"/__sim/referrals/{first.id}/intake").status_code == 200
    (opened,) = oscar.sim.store.clients_with_global_id(first.client_global_id)
    for field, value in client.items():
        setattr(opened, field, value)
    return opened


def test_level_of_risk_is_required_on_a_new_referral(oscar, http, auth):
    """referral.rb:28 (presence + inclusion): nil fails both."""
    response = post(oscar, http, auth, referral(level_of_risk=""))
    assert response.status_code == 422
    assert response.json() == {
        "external_id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e",
        "message": {"level_of_risk": ["can't be blank", "is not included in the list"]},
    }
    assert inbound(oscar) == []


def test_known_child_without_a_client_in_the_named_organisation_is_200_creating_nothing(
    oscar, http, auth
):
    """create_referral finds no client in tpo and returns nil; render_client_data then
    updates the client of the child's first organisation (cif) and answers 200."""
    client = known_child(oscar, http, auth)
    second = referral(global_id=client.global_id, organization_name="tpo", given_name="Sopheap")
    response = post(oscar, http, auth, second)
    assert response.status_code == 200
    assert response.json() == {"external_id": client.external_id, "message": "Record saved."}
    assert len(inbound(oscar)) == 1  # nothing created in tpo
    assert [c.tenant for c in oscar.sim.store.clients_with_global_id(client.global_id)] == ["cif"]
    assert client.given_name == "Sopheap"  # the cif client was overwritten instead


def test_known_global_id_with_no_client_anywhere_falls_through_to_a_first_referral(
    oscar, http, auth
):
    """No organisation yet (minted, never taken in): render_client_data calls find_referral."""
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    again = referral(global_id=first.client_global_id, external_id="another-case")
    response = post(oscar, http, auth, again)
    assert response.status_code == 200
    assert [r.client_global_id for r in inbound(oscar)] == [first.client_global_id] * 2


def test_known_child_update_writes_every_attribute_blanks_included(oscar, http, auth):
    """Client.get_client_attribute: blank or absent -> nil; local names and the reason come
    from keys the controller never permits, so they are wiped whatever is sent."""
    client = known_child(
        oscar, http, auth, mosvy_number="PP-9", local_given_name="សុភា", reason_for_referral="x"
    )
    body = referral(global_id=client.global_id, mosvy_number="", address_current_village_code="")
    body["organization"].pop("family_name")
    body["organization"].pop("location_current_village_code")
    body["organization"]["local_given_name"] = "សុភា"
    assert post(oscar, http, auth, body).status_code == 200
    assert len(inbound(oscar)) == 2
    assert client.mosvy_number is None
    assert client.family_name is None
    assert client.location_code == ""
    assert client.local_given_name is None
    assert client.reason_for_referral is None
    assert client.gender == "female"


def test_known_child_blank_gender_is_422_after_the_referral_was_saved(oscar, http, auth):
    """client.rb:143 gender presence fails update_attributes, but create_referral ran first:
    the referral exists, the client is unchanged, and a replay would add another one."""
    client = known_child(oscar, http, auth)
    body = referral(global_id=client.global_id, gender="", given_name="Changed")
    response = post(oscar, http, auth, body)
    assert response.status_code == 422
    assert response.json() == {
        "external_id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e",
        "message": {"gender": ["can't be blank"]},
    }
    assert len(inbound(oscar)) == 2  # saved before the refusal
    assert client.given_name == "Sophea"
    assert post(oscar, http, auth, body).status_code == 422
    assert len(inbound(oscar)) == 3


def test_unknown_non_blank_global_id_saves_the_referral_then_500s(oscar, http, auth):
    response = post(oscar, http, auth, referral(global_id="01HQZ8Y3K2M4N5P6Q7R8S9T0VW"))
    assert response.status_code == 500
    assert [r.client_global_id for r in inbound(oscar)] == ["01HQZ8Y3K2M4N5P6Q7R8S9T0VW"]


@pytest.mark.parametrize("body", [{}, {"organization": {"organization_name": ""}}, {"data": 1}])
def test_missing_organization_or_name_is_record_error(oscar, http, auth, body):
    response = post(oscar, http, auth, body)
    assert response.status_code == 422
    assert response.json() == {"message": "Record error. Please check OSCaR logs for details."}


def test_unknown_tenant_is_a_500(oscar, http, auth):
    assert post(oscar, http, auth, referral(organization_name="nope")).status_code == 500


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_case_worker_mobile": ""}, "referral_phone"),
        ({"external_case_worker_name": ""}, "name_of_referee"),
        ({"given_name": "", "family_name": ""}, "client_name"),
        ({"services": []}, "services"),
        ({"services": [{"uuid": "u", "name": "Not Specified"}]}, "services"),
        ({"level_of_risk": "no_action"}, "level_of_risk"),
        ({"referral_status": "Pending"}, "referral_status"),
    ],
)
def test_referral_validation_failures_are_422_with_the_errors_hash(
    oscar, http, auth, overrides, field
):
    response = post(oscar, http, auth, referral(**overrides))
    assert response.status_code == 422
    body = response.json()
    assert body["external_id"] == "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e"
    assert field in body["message"]
    assert inbound(oscar) == []


def test_no_action_risk_level_with_a_space_is_accepted(oscar, http, auth):
    assert post(oscar, http, auth, referral(level_of_risk="no action")).status_code == 200


def test_upsert_requires_auth(oscar, http):
    response = http.post(oscar.url + UPSERT, json=referral())
    assert response.status_code == 401


def test_accepted_referral_shows_up_in_the_feed_with_its_status(oscar, http, auth):
    post(oscar, http, auth, referral())
    (first,) = inbound(oscar)
    http.post(oscar.url + f"/__sim/referrals/{first.id}/intake")
    data = http.get(oscar.url + CLIENTS, headers=auth).json()["data"]
    (item,) = data
    assert item["external_id"] == "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e"
    assert item["resource"] == "primero"
    assert item["services"][0]["referral_id"] == first.id
    assert item["services"][0]["referral_status"] == "Accepted"
