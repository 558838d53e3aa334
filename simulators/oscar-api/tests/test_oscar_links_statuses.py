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


def test_update_statuses_rejects_statuses_outside_the_three(oscar, http):
    seed_samples(oscar, http)
    body = {
        "data": [
            {
                "client_global_id": "01EDN2N13KJQYZJDNNJE68XDQY",
                "referral_id": 1193,
                "referral_status": "Active",
            }
        ]
    }
    response = http.put(oscar.url + UPDATE_STATUSES, json=body)
    assert response.status_code == 422
    assert "Referral status must be one of" in response.json()["error"]


def test_update_statuses_unknown_global_id_is_422(oscar, http):
    body = {
        "data": [{"client_global_id": "01NOPE", "referral_id": 1, "referral_status": "Accepted"}]
    }
    response = http.put(oscar.url + UPDATE_STATUSES, json=body)
    assert response.status_code == 422
    assert response.json()["message"] == RECORD_ERROR
