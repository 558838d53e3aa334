"""Referral PATCH and revoke re-run the transition validations; every save re-saves the case.

Real source: primeroIMS/primero @4b95bf94 `app/models/transition.rb:19-23` (validations with no
`on:`), `:31,147-149` (`after_save :save_record`), `app/models/referral.rb:37-97`,
`app/services/error_service.rb:43-47` (the model 422 shape).
"""

from __future__ import annotations

SOPHEA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"  # sample 2: consent unset
SOPHEA_REFERRAL = "8e72817c-74e6-4df2-b96d-d4bcde47f292"  # in_progress, not overridden


def url(primero, path):
    return primero.url(f"/api/v2/cases/{SOPHEA}{path}")


def give_consent(primero, record_id=SOPHEA):
    case = dict(primero.state.store.get(record_id))
    case.update(consent_for_services=True, disclosure_other_orgs=True)
    primero.state.store.put(case)


def refer(client, primero):
    body = {"transitioned_to": "agency-cif-user", "consent_overridden": True}
    return client.post(url(primero, "/referrals"), json={"data": body}).json()["data"]


def patch(client, primero, referral_id, status):
    return client.patch(
        url(primero, f"/referrals/{referral_id}"), json={"data": {"status": status}}
    )


def test_accepting_without_consent_answers_primeros_422_and_changes_nothing(client, primero):
    before = dict(primero.state.store.get(SOPHEA))
    response = patch(client, primero, SOPHEA_REFERRAL, "accepted")
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "status": 422,
                "resource": f"/api/v2/cases/{SOPHEA}/referrals/{SOPHEA_REFERRAL}",
                "detail": "consent",
                "message": ["transition.errors.consent"],
            }
        ]
    }
    assert primero.state.store.referral(SOPHEA_REFERRAL)["status"] == "in_progress"
    assert primero.state.store.get(SOPHEA) == before


def test_consent_withdrawn_after_an_overridden_referral_still_passes(client, primero):
    referral = refer(client, primero)  # consent_overridden: true, kept on the transition
    assert patch(client, primero, referral["id"], "accepted").status_code == 200


def test_a_disabled_target_user_makes_the_decision_a_422(client, primero):
    give_consent(primero)
    primero.state.directory.get("agency-cif-user").disabled = True
    response = patch(client, primero, SOPHEA_REFERRAL, "rejected")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["detail"] == "transitioned_to"
    assert error["message"] == ["transition.errors.to_user_can_receive"]
    assert primero.state.store.referral(SOPHEA_REFERRAL)["status"] == "in_progress"


def test_both_problems_are_listed(client, primero):
    primero.state.directory.get("agency-cif-user").disabled = True
    errors = patch(client, primero, SOPHEA_REFERRAL, "accepted").json()["errors"]
    assert [e["detail"] for e in errors] == ["consent", "transitioned_to"]


def test_revoke_checks_consent_but_not_the_target(client, primero):
    primero.state.directory.get("agency-cif-user").disabled = True
    denied = client.delete(url(primero, f"/referrals/{SOPHEA_REFERRAL}"))
    assert denied.status_code == 422
    assert denied.json()["errors"][0]["detail"] == "consent"
    give_consent(primero)
    assert client.delete(url(primero, f"/referrals/{SOPHEA_REFERRAL}")).status_code == 200


def test_a_reset_enables_the_user_again(client, primero):
    primero.state.directory.get("agency-cif-user").disabled = True
    primero.state.reset()
    assert primero.state.directory.get("agency-cif-user").disabled is False


def test_accepting_moves_the_case_last_updated_at_but_not_last_updated_by(client, primero):
    give_consent(primero)
    primero.state.clock.advance(5)
    before = dict(primero.state.store.get(SOPHEA))
    response = patch(client, primero, SOPHEA_REFERRAL, "accepted")
    assert response.status_code == 200
    after = primero.state.store.get(SOPHEA)
    assert after["last_updated_at"] > before["last_updated_at"]
    assert after.get("last_updated_by") == before.get("last_updated_by")
    # transitions/update renders the case's changed fields under `record`
    record = response.json()["data"]["record"]
    assert record["id"] == SOPHEA
    assert record["last_updated_at"] == after["last_updated_at"]


def test_rejecting_and_done_move_it_and_stamp_the_user(client, primero):
    give_consent(primero)
    for status in ("rejected",):
        primero.state.clock.advance(5)
        before = primero.state.store.get(SOPHEA)["last_updated_at"]
        assert patch(client, primero, SOPHEA_REFERRAL, status).status_code == 200
        after = primero.state.store.get(SOPHEA)
        assert after["last_updated_at"] > before
        assert after["last_updated_by"] == "primero"
    other = refer(client, primero)
    assert patch(client, primero, other["id"], "accepted").status_code == 200
    primero.state.clock.advance(5)
    before = primero.state.store.get(SOPHEA)["last_updated_at"]
    done = patch(client, primero, other["id"], "done").json()["data"]
    assert done["record"]["last_updated_at"] > before


def test_a_no_op_patch_validates_nothing_and_moves_nothing(client, primero):
    before = primero.state.store.get(SOPHEA)["last_updated_at"]
    response = patch(client, primero, SOPHEA_REFERRAL, "done")  # not from in_progress
    assert response.status_code == 200
    assert primero.state.store.get(SOPHEA)["last_updated_at"] == before
