"""API.md §2.2: devise_token_auth sign-in, header checks, lifetime and eviction."""

from __future__ import annotations

import time

import pytest

from oscar_sim.paths import CLIENTS, SIGN_IN, UPDATE_STATUSES

UNAUTHENTICATED = {"errors": ["You need to sign in or sign up before continuing."]}


def test_sign_in_returns_the_five_auth_headers_with_a_one_week_expiry(oscar, http):
    before = time.time()
    response = http.post(
        oscar.url + SIGN_IN, json={"email": oscar.email, "password": oscar.password}
    )
    assert response.status_code == 200
    headers = response.headers
    assert headers["token-type"] == "Bearer"
    assert headers["uid"] == oscar.email
    assert headers["access-token"]
    assert headers["client"]
    assert abs(int(headers["expiry"]) - (before + 7 * 86400)) < 60
    body = response.json()["data"]
    assert body["email"] == oscar.email
    assert body["provider"] == "email"
    assert "tokens" not in body
    assert "created_at" not in body


def test_bad_credentials_give_401_with_success_false(oscar, http):
    response = http.post(oscar.url + SIGN_IN, json={"email": oscar.email, "password": "wrong"})
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "errors": ["Invalid login credentials. Please try again."],
    }
    assert "access-token" not in response.headers


@pytest.mark.parametrize("missing", ["access-token", "client", "uid"])
def test_each_auth_header_is_required(oscar, http, auth, missing):
    headers = {k: v for k, v in auth.items() if k != missing}
    response = http.get(oscar.url + CLIENTS, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


@pytest.mark.parametrize("tampered", ["access-token", "client", "uid"])
def test_wrong_header_values_are_refused(oscar, http, auth, tampered):
    headers = {**auth, tampered: auth[tampered] + "x"}
    response = http.get(oscar.url + CLIENTS, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_same_token_is_accepted_repeatedly_and_echoed_unchanged(oscar, http, auth):
    for _ in range(3):
        response = http.get(oscar.url + CLIENTS, headers=auth)
        assert response.status_code == 200
        assert response.headers["access-token"] == auth["access-token"]
        assert response.headers["client"] == auth["client"]


def test_token_expires_after_one_week(oscar, http, auth):
    http.post(oscar.url + "/__sim/clock", json={"advance": 7 * 86400 + 1})
    response = http.get(oscar.url + CLIENTS, headers=auth)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_eleventh_sign_in_evicts_the_earliest_expiring_client(oscar, http, sign_in):
    first = sign_in()
    http.post(oscar.url + "/__sim/clock", json={"advance": 5})  # later expiries for the rest
    sessions = [sign_in() for _ in range(10)]
    assert http.get(oscar.url + CLIENTS, headers=first).status_code == 401
    for session in sessions:
        assert http.get(oscar.url + CLIENTS, headers=session).status_code == 200
    assert len(http.get(oscar.url + "/__sim/tokens").json()["tokens"]) == 10


def test_update_statuses_needs_no_auth(oscar, http):
    response = http.put(oscar.url + UPDATE_STATUSES, json={"data": []})
    assert response.status_code == 200
    assert response.json() == {"message": "Record saved."}


def test_sign_out_revokes_the_client(oscar, http, auth):
    response = http.delete(oscar.url + "/api/v1/admin_auth/sign_out", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 401
    again = http.delete(oscar.url + "/api/v1/admin_auth/sign_out", headers=auth)
    assert again.status_code == 404
    assert again.json()["success"] is False


def test_password_is_never_journaled(oscar, http, auth):
    entries = http.get(oscar.url + "/__sim/requests").json()["requests"]
    assert entries[0]["path"] == SIGN_IN
    assert entries[0]["body"]["password"] == "[redacted]"
