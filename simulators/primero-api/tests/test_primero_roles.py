"""The API user's role: unreadable fields (filters silently dropped), scope, users permission.

Real source: primeroIMS/primero @4b95bf94 `app/controllers/api/v2/concerns/record.rb:95-99,
150-156,219-227` (filters only on readable fields), `app/models/user.rb:489-507` (record
scope), `app/models/concerns/transitionable.rb:37-50,122-150` (referral scope),
`app/controllers/api/v2/users_controller.rb:15-16` and `app/services/error_service.rb:15-17`.
"""

from __future__ import annotations

SOPHEA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"  # owned by openfn_cp_user, oscar_number set
HARRY = "406b539a-e662-425e-810b-47e4fa7da496"  # two referrals: to tabide (DRC), unhcr_cw
OSCAR_NUMBER = "01GA9PSXKEMHVWH7HQZ7XXCRJC"


def configure(client, primero, user_name, **settings):
    response = client.put(primero.url(f"/__sim/users/{user_name}"), json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def cases(client, primero, **params):
    return client.get(primero.url("/api/v2/cases"), params={"per": 100, **params}).json()


def test_a_readable_field_filters(client, primero):
    found = cases(client, primero, oscar_number=OSCAR_NUMBER)
    assert [c["id"] for c in found["data"]] == [SOPHEA]


def test_a_filter_on_an_unreadable_field_is_dropped_and_the_field_hidden(client, primero):
    configure(client, primero, "primero", unreadable_fields=["oscar_number"])
    everything = cases(client, primero)
    found = cases(client, primero, oscar_number=OSCAR_NUMBER)
    assert found["metadata"]["total"] == everything["metadata"]["total"] > 1
    assert {c["id"] for c in found["data"]} == {c["id"] for c in everything["data"]}
    assert all("oscar_number" not in c for c in found["data"])
    for form in ("or[oscar_number]", "not[oscar_number]", "oscar_number[0]"):
        assert (
            cases(client, primero, **{form: OSCAR_NUMBER})["metadata"]["total"]
            == (everything["metadata"]["total"])
        )
    shown = client.get(primero.url(f"/api/v2/cases/{SOPHEA}")).json()["data"]
    assert "oscar_number" not in shown
    assert shown["id"] == SOPHEA


def test_self_scope_sees_only_its_own_cases_and_referrals(client, primero):
    configure(client, primero, "openfn_cp_user", group_permission="self")
    client.auth = ("openfn_cp_user", "primero-sim")
    seen = {c["id"] for c in cases(client, primero)["data"]}
    assert SOPHEA in seen
    assert HARRY not in seen
    assert client.get(primero.url(f"/api/v2/cases/{HARRY}")).status_code == 403
    assert client.get(primero.url(f"/api/v2/cases/{HARRY}/referrals")).status_code == 403


def test_self_scope_lists_only_referrals_addressed_to_the_user(client, primero):
    configure(client, primero, "unhcr_cw", group_permission="self")
    case = dict(primero.state.store.get(HARRY))
    case["assigned_user_names"] = ["unhcr_cw", "tabide"]
    primero.state.store.put(case)
    client.auth = ("unhcr_cw", "primero-sim")
    listed = client.get(primero.url(f"/api/v2/cases/{HARRY}/referrals")).json()["data"]
    assert [r["transitioned_to"] for r in listed] == ["unhcr_cw"]


def test_agency_scope_lists_referrals_to_its_agency(client, primero):
    configure(client, primero, "tabide", group_permission="agency")
    case = dict(primero.state.store.get(HARRY))
    case["assigned_user_names"] = ["tabide"]
    primero.state.store.put(case)
    client.auth = ("tabide", "primero-sim")
    listed = client.get(primero.url(f"/api/v2/cases/{HARRY}/referrals")).json()["data"]
    assert [r["transitioned_to_agency"] for r in listed] == ["DRC"]


def test_group_scope_follows_the_owner_groups(client, primero):
    configure(client, primero, "primero_cp", group_permission="group")
    client.auth = ("primero_cp", "primero-sim")
    seen = {c["id"] for c in cases(client, primero)["data"]}
    # openfn_cp_user (owner of SOPHEA) shares usergroup-primero-cp with primero_cp
    assert SOPHEA in seen
    assert HARRY not in seen


def test_users_index_needs_the_permission(client, primero):
    assert client.get(primero.url("/api/v2/users")).status_code == 200
    configure(client, primero, "primero", can_index_users=False)
    response = client.get(primero.url("/api/v2/users"))
    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"status": 403, "resource": "/api/v2/users", "message": "Forbidden"}]
    }


def test_a_bad_role_setting_is_a_400_and_reset_restores_the_role(client, primero):
    bad = client.put(primero.url("/__sim/users/primero"), json={"group_permission": "world"})
    assert bad.status_code == 400
    assert client.put(primero.url("/__sim/users/nobody"), json={}).status_code == 404
    configure(client, primero, "primero", unreadable_fields=["oscar_number"])
    client.post(primero.url("/__sim/reset"))
    assert primero.state.directory.get("primero").unreadable_fields == frozenset()
