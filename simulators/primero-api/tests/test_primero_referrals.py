"""Referral contract (API.md 1.5, primero-v2-referrals.json): side effects and state machine."""

from __future__ import annotations

SOPHEA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"  # sample 2: consent unset, one referral
SERVICE = "00b7078c-f989-4d23-af5c-4712232aab6c"
HARRY = "406b539a-e662-425e-810b-47e4fa7da496"  # sample 4: two referrals


def refer(client, primero, record_id=SOPHEA, **data):
    body = {"transitioned_to": "agency-cif-user", "consent_overridden": True, **data}
    return client.post(primero.url(f"/api/v2/cases/{record_id}/referrals"), json={"data": body})


def status(client, primero, referral_id, record_id=SOPHEA, **data):
    url = primero.url(f"/api/v2/cases/{record_id}/referrals/{referral_id}")
    return client.patch(url, json={"data": data}).json()["data"]


def case(primero, record_id=SOPHEA):
    return primero.state.store.get(record_id)


def test_list_is_unpaginated_with_record_type_case(client, primero):
    body = client.get(primero.url(f"/api/v2/cases/{HARRY}/referrals")).json()
    assert set(body) == {"data"}
    assert len(body["data"]) == 2
    assert {r["record_type"] for r in body["data"]} == {"case"}
    assert all("record_access_denied" in r for r in body["data"])


def test_create_sets_in_progress_assigns_target_flags_service_and_bumps_case(client, primero):
    before = case(primero)["last_updated_at"]
    response = refer(client, primero, service_record_id=SERVICE, service="social_work_case_work")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "in_progress"
    assert data["type"] == "Referral"
    assert data["record_type"] == "case"
    assert data["transitioned_to_user_agency"] == "agency-cif"
    assert data["record"]["assigned_user_names"] == ["agency-cif-user"]
    after = case(primero)
    assert after["last_updated_at"] > before
    assert after["last_updated_by"] == "primero"
    assert "agency-cif-user" in after["assigned_user_names"]
    row = next(r for r in after["services_section"] if r["unique_id"] == SERVICE)
    assert row["service_status_referred"] is True
    listed = client.get(primero.url(f"/api/v2/cases/{SOPHEA}/referrals")).json()["data"]
    assert data["id"] in {r["id"] for r in listed}


def test_cursor_pollers_see_the_referred_case_again(client, primero):
    cursor = case(primero)["last_updated_at"]
    refer(client, primero)
    params = {"last_updated_at": f"{cursor[:19]}.999Z..", "per": 100}
    found = client.get(primero.url("/api/v2/cases"), params=params).json()["data"]
    assert SOPHEA in {c["id"] for c in found}


def test_consent_is_required_unless_overridden(client, primero):
    response = refer(client, primero, consent_overridden=False)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "status": 422,
            "resource": f"/api/v2/cases/{SOPHEA}/referrals",
            "detail": "consent",
            "message": ["transition.errors.consent"],
        }
    ]


def test_target_must_exist_and_be_able_to_receive(client, primero):
    for target in ("nobody-here", "primero_system"):
        response = refer(client, primero, transitioned_to=target)
        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["detail"] == "transitioned_to"
        assert error["message"] == ["transition.errors.to_user_can_receive"]
    remote = refer(client, primero, transitioned_to=None, remote=True, transitioned_to_remote="NGO")
    assert remote.status_code == 200
    assert "agency-cif-user" not in (case(primero).get("assigned_user_names") or [])


def test_illegal_and_repeated_transitions_are_silent_no_ops(client, primero):
    referral_id = refer(client, primero).json()["data"]["id"]
    assert status(client, primero, referral_id, status="done")["status"] == "in_progress"
    assert status(client, primero, referral_id, status="bogus")["status"] == "in_progress"
    accepted = status(client, primero, referral_id, status="accepted")
    assert accepted["status"] == "accepted"
    assert "responded_at" in accepted
    assert status(client, primero, referral_id, status="accepted")["status"] == "accepted"
    assert status(client, primero, referral_id, status="rejected")["status"] == "accepted"


def test_done_marks_the_service_implemented(client, primero):
    referral_id = refer(client, primero, service_record_id=SERVICE).json()["data"]["id"]
    status(client, primero, referral_id, status="accepted")
    done = status(client, primero, referral_id, status="done")
    assert done["status"] == "done"
    row = next(r for r in case(primero)["services_section"] if r["unique_id"] == SERVICE)
    assert row["service_implemented"] == "implemented"
    assert row["service_implemented_day_time"]


def test_reject_stores_reason_and_unassigns_target(client, primero):
    # Sample 2 already has an active referral to agency-cif-user, so use another target.
    referral_id = refer(client, primero, transitioned_to="agency-isf-user").json()["data"]["id"]
    before = case(primero)["last_updated_at"]
    rejected = status(client, primero, referral_id, status="rejected", rejected_reason="no staff")
    assert rejected["status"] == "rejected"
    assert rejected["rejected_reason"] == "no staff"
    assert "responded_at" in rejected
    assert "agency-isf-user" not in case(primero)["assigned_user_names"]
    assert case(primero)["last_updated_at"] >= before


def test_reject_keeps_target_assigned_while_another_referral_is_active(client, primero):
    first = refer(client, primero).json()["data"]["id"]
    refer(client, primero)
    status(client, primero, first, status="rejected")
    assert "agency-cif-user" in case(primero)["assigned_user_names"]


def test_revoke_via_delete(client, primero):
    referral_id = refer(client, primero).json()["data"]["id"]
    url = primero.url(f"/api/v2/cases/{SOPHEA}/referrals/{referral_id}")
    assert client.delete(url).json()["data"]["status"] == "revoked"


def test_bulk_creates_one_per_case_and_aborts_on_first_failure(client, primero):
    aicha = "ee03c7e4-46bd-40ed-9312-01ce08515f1a"
    body = {"data": {"ids": [aicha, SOPHEA], "transitioned_to": "agency-cif-user", "notes": "bulk"}}
    response = client.post(primero.url("/api/v2/cases/referrals"), json=body)
    assert response.status_code == 422  # SOPHEA has no consent: aborts...
    assert len(primero.state.store.referrals.get(aicha, [])) == 1  # ...after AICHA's was saved
    body["data"]["consent_overridden"] = True
    ok = client.post(primero.url("/api/v2/cases/referrals"), json=body)
    assert ok.status_code == 200
    assert [r["record_id"] for r in ok.json()["data"]] == [aicha, SOPHEA]


def test_unknown_referral_is_404(client, primero):
    url = primero.url(f"/api/v2/cases/{SOPHEA}/referrals/0000")
    assert client.patch(url, json={"data": {"status": "accepted"}}).status_code == 404
