"""API.md §2.3: PUT update_links (idempotent, unknown ids skipped) and update_statuses."""

from __future__ import annotations

from oscar_sim.paths import UPDATE_LINKS, UPDATE_STATUSES

SAVED = {"message": "Record saved."}
RECORD_ERROR = "Record error. Please check OSCaR logs for details."


def seed_samples(oscar, http):
    http.post(oscar.url + "/__sim/seed", json={"source": "samples"})


def test_update_links_writes_ids_on_every_tenant_copy(oscar, http, auth):
    base = {"given_name": "A", "family_name": "B", "gender": "male", "date_of_birth": "2015-01-01"}
    oscar.sim.load(
        [
            {**base, "global_id": "01ER422T8EKDG3A5RM15B39SA5", "organization_name": "cif"},
            {**base, "global_id": "01ER422T8EKDG3A5RM15B39SA5", "organization_name": "demo"},
        ]
    )
    body = {
        "data": [
            {
                "external_id": "cf824079-ab8e-4ac4-aac7-4ee58b99939a",
                "external_id_display": "b99939a",
                "global_id": "01ER422T8EKDG3A5RM15B39SA5",
                "is_referred": False,
            }
        ]
    }
    for _ in range(2):  # idempotent
        response = http.put(oscar.url + UPDATE_LINKS, headers=auth, json=body)
        assert response.status_code == 200
        assert response.json() == SAVED
    copies = oscar.sim.store.clients_with_global_id("01ER422T8EKDG3A5RM15B39SA5")
    assert {c.tenant for c in copies} == {"cif", "demo"}
    assert {c.external_id for c in copies} == {"cf824079-ab8e-4ac4-aac7-4ee58b99939a"}
    assert all(c.synced_date is not None for c in copies)


def test_update_links_skips_unknown_global_ids(oscar, http, auth):
    body = {"data": [{"global_id": "01UNKNOWN0000000000000000", "external_id": "x"}]}
    response = http.put(oscar.url + UPDATE_LINKS, headers=auth, json=body)
    assert response.status_code == 200
    assert response.json() == SAVED


def test_update_links_without_data_is_a_500(oscar, http, auth):
    response = http.put(oscar.url + UPDATE_LINKS, headers=auth, json={})
    assert response.status_code == 500


def test_update_links_requires_auth(oscar, http):
    response = http.put(oscar.url + UPDATE_LINKS, json={"data": []})
    assert response.status_code == 401


def test_update_statuses_sets_each_referral_status(oscar, http):
    seed_samples(oscar, http)
    body = {
        "data": [
            {
                "external_id": "173d7ad5-28f8-4343-a3df-dc6d85b38276",
                "client_global_id": "01EDN2N13KJQYZJDNNJE68XDQY",
                "referral_id": 1194,
                "referral_status": "Accepted",
            }
        ]
    }
    response = http.put(oscar.url + UPDATE_STATUSES + "/", json=body)
    assert response.status_code == 200
    assert response.json() == SAVED
    assert oscar.sim.store.referrals[1194].referral_status == "Accepted"


def test_update_statuses_keeps_earlier_items_when_a_later_one_fails(oscar, http):
    seed_samples(oscar, http)
    body = {
        "data": [
            {
                "client_global_id": "01EDN2N13KJQYZJDNNJE68XDQY",
                "referral_id": 1193,
                "referral_status": "Exited",
            },
            {
                "client_global_id": "01EDN2N13KJQYZJDNNJE68XDQY",
                "referral_id": 9999,
                "referral_status": "Exited",
            },
            {
                "client_global_id": "01EDN2N13KJQYZJDNNJE68XDQY",
                "referral_id": 1194,
                "referral_status": "Referred",
            },
        ]
    }
    response = http.put(oscar.url + UPDATE_STATUSES, json=body)
    assert response.status_code == 422
    assert response.json() == {
        "error": "Couldn't find Referral with 'id'=9999",
        "message": RECORD_ERROR,
    }
    assert oscar.sim.store.referrals[1193].referral_status == "Exited"
    assert oscar.sim.store.referrals[1194].referral_status == "Exited"  # never reached


def status_item(referral_id, status, global_id="01EDN2N13KJQYZJDNNJE68XDQY"):
    return {"client_global_id": global_id, "referral_id": referral_id, "referral_status": status}


def test_update_statuses_runs_the_model_validation_not_the_three_status_list(oscar, http):
    """referral.rb:27 accepts every client status ("Active" too); the controller's list of
    three is only the text appended to a validation failure."""
    seed_samples(oscar, http)
    ok = http.put(oscar.url + UPDATE_STATUSES, json={"data": [status_item(1193, "Active")]})
    assert ok.status_code == 200
    assert oscar.sim.store.referrals[1193].referral_status == "Active"
    bad = http.put(oscar.url + UPDATE_STATUSES, json={"data": [status_item(1193, "Pending")]})
    assert bad.status_code == 422
    assert bad.json() == {
        "error": "Referral status is not included in the list. Referral status must be one of"
        " ['Accepted', 'Exited', 'Referred'].",
        "message": RECORD_ERROR,
    }


def child(global_id, tenant, *services):
    return {
        "global_id": global_id,
        "given_name": "Dara",
        "family_name": "Kim",
        "gender": "male",
        "date_of_birth": "2012-05-01",
        "organization_name": tenant,
        "external_id": f"ext-{global_id}",
        "services": list(services),
    }


def seed(oscar, http, *records):
    response = http.post(
        oscar.url + "/__sim/seed", json={"source": "records", "records": list(records)}
    )
    assert response.status_code == 200


def test_update_statuses_refuses_a_legacy_referral_without_a_risk_level(oscar, http):
    """A referral saved before level_of_risk became required fails update_attributes."""
    legacy = {"uuid": "u1", "name": "Kinship care", "referral_id": 4242, "level_of_risk": None}
    seed(oscar, http, child("01HLEGACY0000000000000000A", "cif", legacy))
    body = {"data": [status_item(4242, "Accepted", "01HLEGACY0000000000000000A")]}
    response = http.put(oscar.url + UPDATE_STATUSES, json=body)
    assert response.status_code == 422
    assert response.json()["error"] == (
        "Level of risk can't be blank. Level of risk is not included in the list."
        " Referral status must be one of ['Accepted', 'Exited', 'Referred']."
    )
    assert oscar.sim.store.referrals[4242].referral_status == "Referred"  # unchanged


def test_update_statuses_looks_in_the_first_organisation_by_id_only(oscar, http):
    """The tenant is the child's FIRST organisation and the referral is found there by id
    alone: another child's referral there is updated, this child's own referral in its
    second organisation is not found."""
    service = {"uuid": "u1", "name": "Kinship care"}
    seed(
        oscar,
        http,
        child("01HCHILDA000000000000000AA", "cif", {**service, "referral_id": 5001}),
        child("01HCHILDB000000000000000BB", "cif", {**service, "referral_id": 5002}),
        child("01HCHILDA000000000000000AA", "demo", {**service, "referral_id": 5003}),
    )
    referrals = oscar.sim.store.referrals
    wrong_child = {"data": [status_item(5002, "Exited", "01HCHILDA000000000000000AA")]}
    response = http.put(oscar.url + UPDATE_STATUSES, json=wrong_child)
    assert response.status_code == 200
    assert referrals[5002].referral_status == "Exited"  # child B's referral, as in OSCaR
    second_org = {"data": [status_item(5003, "Exited", "01HCHILDA000000000000000AA")]}
    missing = http.put(oscar.url + UPDATE_STATUSES, json=second_org)
    assert missing.status_code == 422
    assert missing.json()["error"] == "Couldn't find Referral with 'id'=5003"
    assert referrals[5003].referral_status == "Referred"


def test_update_statuses_unknown_global_id_is_422(oscar, http):
    body = {
        "data": [{"client_global_id": "01NOPE", "referral_id": 1, "referral_status": "Accepted"}]
    }
    response = http.put(oscar.url + UPDATE_STATUSES, json=body)
    assert response.status_code == 422
    assert response.json()["message"] == RECORD_ERROR
