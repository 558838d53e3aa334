"""Auth contract (API.md 1.1, 1.2): Basic, JWT and session regimes, 401/429 shapes."""

from __future__ import annotations

from functools import partial

import requests

from primero_sim.users import DEFAULT_PASSWORD

delete = partial(requests.delete, timeout=10)
get = partial(requests.get, timeout=10)
post = partial(requests.post, timeout=10)

WWW = 'Bearer realm="Primero" charset="UTF8"'


def login(primero, user="openfn_cp_user", password=DEFAULT_PASSWORD, session=None):
    http = session or requests
    body = {"user": {"user_name": user, "password": password}}
    return http.post(primero.url("/api/v2/tokens"), json=body)


def test_every_endpoint_needs_credentials_and_401_is_the_devise_shape(primero):
    for path in ("/api/v2/cases", "/api/v2/users", "/api/v2/cases/x/referrals"):
        response = get(primero.url(path))
        assert response.status_code == 401
        assert response.json() == {"error": "You need to sign in or sign up before continuing."}
        assert response.headers["WWW-Authenticate"] == WWW


def test_bad_basic_password_is_401_invalid_login(primero):
    response = get(primero.url("/api/v2/cases"), auth=("primero", "wrong"))
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid User name or password."}


def test_basic_user_name_is_case_insensitive_and_stripped(primero):
    response = get(primero.url("/api/v2/cases"), auth=(" PRIMERO ", DEFAULT_PASSWORD))
    assert response.status_code == 200


def test_jwt_login_returns_token_in_body_header_and_cookie(primero):
    response = login(primero)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "user_name", "token"}
    assert response.headers["Authorization"] == f"Bearer {body['token']}"
    assert response.cookies["primero_token"] == body["token"]
    cases = get(primero.url("/api/v2/cases"), headers={"Authorization": f"Bearer {body['token']}"})
    assert cases.status_code == 200


def test_jwt_expires_after_one_hour(primero):
    token = login(primero).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    primero.state.clock.advance(3599)
    assert get(primero.url("/api/v2/cases"), headers=headers).status_code == 200
    primero.state.clock.advance(2)
    response = get(primero.url("/api/v2/cases"), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Signature has expired"}
    assert response.headers["WWW-Authenticate"] == WWW


def test_jwt_refresh_issues_a_new_token_and_keeps_the_old_one(primero):
    old = login(primero).json()["token"]
    refreshed = post(primero.url("/api/v2/tokens"), headers={"Authorization": f"Bearer {old}"})
    assert refreshed.status_code == 200
    new = refreshed.json()["token"]
    assert new != old
    for token in (old, new):
        headers = {"Authorization": f"Bearer {token}"}
        assert get(primero.url("/api/v2/cases"), headers=headers).status_code == 200


def test_delete_tokens_revokes_the_jwt(primero):
    token = login(primero).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = delete(primero.url("/api/v2/tokens"), headers=headers)
    assert response.status_code == 200
    assert response.json() == {}
    assert get(primero.url("/api/v2/cases"), headers=headers).status_code == 401


def test_tampered_jwt_is_rejected(primero):
    token = login(primero).json()["token"]
    headers = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert get(primero.url("/api/v2/cases"), headers=headers).status_code == 401


def test_bad_login_is_401_devise_body(primero):
    response = login(primero, password="nope")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid User name or password."}
    assert response.headers["WWW-Authenticate"] == WWW


def test_more_than_six_logins_per_user_per_minute_is_429(primero):
    statuses = [login(primero).status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]
    throttled = login(primero)
    assert throttled.text == "Retry later\n"
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert login(primero, user="primero").status_code == 200  # per user_name
    primero.state.clock.advance(61)
    assert login(primero).status_code == 200


def test_six_bad_passwords_lock_the_account_for_thirty_minutes(primero):
    auth_bad = ("primero_cp", "wrong")
    for _ in range(5):
        assert get(primero.url("/api/v2/users"), auth=auth_bad).status_code == 401
    sixth = get(primero.url("/api/v2/users"), auth=auth_bad)
    assert sixth.json() == {"error": "Your account is locked."}
    good = ("primero_cp", DEFAULT_PASSWORD)
    assert get(primero.url("/api/v2/users"), auth=good).status_code == 401
    primero.state.clock.advance(30 * 60 + 1)
    assert get(primero.url("/api/v2/users"), auth=good).status_code == 200


def test_session_regime_cookie_and_csrf(primero):
    primero.state.set_regime("session", True)
    with requests.Session() as http:
        response = login(primero, session=http)
        assert response.status_code == 200
        assert response.json() == {
            "id": response.json()["id"],
            "user_name": "openfn_cp_user",
            "group_permission": "all",
        }
        assert "token" not in response.json()
        assert {"_app_session", "CSRF-TOKEN"} <= set(http.cookies.keys())
        assert http.get(primero.url("/api/v2/cases")).status_code == 200
        body = {"data": {"module_id": "primeromodule-cp", "name_first": "S"}}
        refused = http.post(primero.url("/api/v2/cases"), json=body)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["message"] == "Can't verify CSRF token authenticity."
        csrf = http.cookies["CSRF-TOKEN"]
        ok = http.post(primero.url("/api/v2/cases"), json=body, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200
        # Bearer tokens are not accepted in this regime; Basic still works and skips CSRF.
        assert post(primero.url("/api/v2/cases"), json=body, auth=primero.auth).status_code == 200


def test_session_login_expires_the_users_other_sessions(primero):
    primero.state.set_regime("session", False)
    with requests.Session() as first, requests.Session() as second:
        login(primero, session=first)
        assert first.get(primero.url("/api/v2/cases")).status_code == 200
        login(primero, session=second)
        stale = first.get(primero.url("/api/v2/cases"))
        assert stale.status_code == 401
        assert stale.json() == {"error": "Your session expired. Please sign in again to continue."}
        assert second.get(primero.url("/api/v2/cases")).status_code == 200


def test_session_idle_timeout_and_logout(primero):
    primero.state.set_regime("session", False)
    with requests.Session() as http:
        login(primero, session=http)
        primero.state.clock.advance(3601)
        assert http.get(primero.url("/api/v2/cases")).status_code == 401
        login(primero, session=http)
        assert http.delete(primero.url("/api/v2/tokens")).json() == {}
        assert http.get(primero.url("/api/v2/cases")).status_code == 401
