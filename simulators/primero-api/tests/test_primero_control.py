"""The ``/__sim/`` control surface and every fault kind."""

from __future__ import annotations

import time
from functools import partial

import pytest
import requests

from primero_sim.users import DEFAULT_PASSWORD

delete = partial(requests.delete, timeout=10)
get = partial(requests.get, timeout=10)
post = partial(requests.post, timeout=10)
put = partial(requests.put, timeout=10)


def add_fault(primero, **spec):
    response = post(primero.url("/__sim/faults"), json=spec)
    assert response.status_code == 201, response.text
    return response.json()["faults"][0]


def test_reset_and_seed(primero):
    assert post(primero.url("/__sim/reset")).json()["cases"] == 0
    seeded = post(primero.url("/__sim/seed"), json={"source": "samples"}).json()
    assert seeded == {"cases": 5, "referrals": 3}
    body = {"source": "generated", "count": 250, "seed": 3}
    assert post(primero.url("/__sim/seed"), json=body).json()["cases"] == 250
    assert len(primero.state.store) == 250
    body["replace"] = False
    post(primero.url("/__sim/seed"), json={"source": "samples", "replace": False})
    assert len(primero.state.store) == 255
    assert post(primero.url("/__sim/seed"), json={"source": "nope"}).status_code == 400


def test_writes_are_listed_in_order_with_status_and_redacted_logins(client, primero):
    client.post(primero.url("/api/v2/cases"), json={"data": {"module_id": "primeromodule-cp"}})
    client.patch(primero.url("/api/v2/cases/missing"), json={"data": {"age": 1}})
    post(
        primero.url("/api/v2/tokens"),
        json={"user": {"user_name": "primero", "password": DEFAULT_PASSWORD}},
    )
    client.get(primero.url("/api/v2/cases"))  # reads are not journalled
    writes = get(primero.url("/__sim/writes")).json()["data"]
    assert [(w["method"], w["path"], w["status"]) for w in writes] == [
        ("POST", "/api/v2/cases", 200),
        ("PATCH", "/api/v2/cases/missing", 404),
        ("POST", "/api/v2/tokens", 200),
    ]
    assert writes[0]["body"] == {"data": {"module_id": "primeromodule-cp"}}
    assert writes[2]["body"]["user"]["password"] == "[redacted]"
    assert writes[0]["time"] <= writes[1]["time"]
    assert get(primero.url("/__sim/writes"), params={"since": 2}).json()["data"][0]["seq"] == 3
    delete(primero.url("/__sim/writes"))
    assert get(primero.url("/__sim/writes")).json()["data"] == []


def test_latency_fault(client, primero):
    add_fault(primero, kind="latency", path="/api/v2/users", latency_ms=150)
    started = time.perf_counter()
    assert client.get(primero.url("/api/v2/users")).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    client.get(primero.url("/api/v2/cases"))
    assert time.perf_counter() - started < 0.15


@pytest.mark.parametrize("code", [500, 502, 503])
def test_error_faults(client, primero, code):
    add_fault(
        primero,
        kind="error",
        method="GET",
        path="/api/v2/cases",
        status=code,
        times=1,
        retry_after=7,
    )
    response = client.get(primero.url("/api/v2/cases"))
    assert response.status_code == code
    if code == 500:
        assert response.json()["errors"][0]["status"] == 500
    if code == 503:
        assert response.headers["Retry-After"] == "7"
        assert response.json()["errors"][0]["detail"] == "Retry-After: 7"
    assert client.get(primero.url("/api/v2/cases")).status_code == 200  # times=1 used up


def test_error_rate_fires_about_that_often(client, primero):
    add_fault(primero, kind="error", path="/api/v2/users", probability=0.5)
    codes = [client.get(primero.url("/api/v2/users")).status_code for _ in range(60)]
    assert 10 < codes.count(500) < 50
    assert set(codes) == {200, 500}


def test_throttle_fault_is_429_with_retry_after(client, primero):
    add_fault(primero, kind="throttle", path="/api/v2/cases/*", retry_after=3)
    response = client.get(primero.url("/api/v2/cases/ee03c7e4-46bd-40ed-9312-01ce08515f1a"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert client.get(primero.url("/api/v2/cases")).status_code == 200  # glob does not match


def test_expire_token_fault_and_forced_expiry(primero):
    login = {"user": {"user_name": "primero", "password": DEFAULT_PASSWORD}}
    token = post(primero.url("/api/v2/tokens"), json=login).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    add_fault(primero, kind="expire_token", path="/api/v2/cases", times=1)
    response = get(primero.url("/api/v2/cases"), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Signature has expired"}
    assert get(primero.url("/api/v2/users"), headers=headers).status_code == 401
    token = post(primero.url("/api/v2/tokens"), json=login).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert get(primero.url("/api/v2/users"), headers=headers).status_code == 200
    assert post(primero.url("/__sim/tokens/expire")).json()["expired"] >= 1
    assert get(primero.url("/api/v2/users"), headers=headers).status_code == 401


def test_drop_fault_closes_the_connection_without_a_response(client, primero):
    add_fault(primero, kind="drop", method="PATCH", path="/api/v2/cases/*", times=1)
    url = primero.url("/api/v2/cases/ee03c7e4-46bd-40ed-9312-01ce08515f1a")
    with pytest.raises(requests.ConnectionError):
        client.patch(url, json={"data": {"age": 3}})
    assert client.patch(url, json={"data": {"age": 3}}).status_code == 200
    writes = get(primero.url("/__sim/writes")).json()["data"]
    assert [w["fault"] for w in writes] == ["drop", None]


def test_faults_can_be_listed_removed_and_validated(primero):
    fault = add_fault(primero, kind="error", status=502)
    assert [f["id"] for f in get(primero.url("/__sim/faults")).json()["faults"]] == [fault["id"]]
    assert delete(primero.url(f"/__sim/faults/{fault['id']}")).status_code == 200
    assert get(primero.url("/__sim/faults")).json()["faults"] == []
    assert delete(primero.url(f"/__sim/faults/{fault['id']}")).status_code == 404
    bad = post(primero.url("/__sim/faults"), json={"kind": "error", "status": 404})
    assert bad.status_code == 400
    # The fields of simkit's API, the same on the OSCaR and DTP simulators.
    same = {"kind": "error", "status": 503, "path": "/api/v2/cases*", "times": 2}
    (listed,) = post(primero.url("/__sim/faults"), json=[same]).json()["faults"]
    assert listed == {
        **same,
        "id": listed["id"],
        "method": "*",
        "probability": 1.0,
        "latency_ms": 0.0,
        "retry_after": None,
        "fired": 0,
    }
    assert post(primero.url("/__sim/faults"), json={"kind": "drop", "rate": 1}).status_code == 400


def test_an_error_fault_sends_retry_after_only_when_asked(client, primero):
    add_fault(primero, kind="error", status=503, path="/api/v2/cases", times=1)
    response = client.get(primero.url("/api/v2/cases"))
    assert response.status_code == 503
    assert "Retry-After" not in response.headers


def test_config_lock_gives_503_and_regime_switch(client, primero):
    put(primero.url("/__sim/config"), json={"config_locked": 5})
    response = client.get(primero.url("/api/v2/cases"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    put(primero.url("/__sim/config"), json={"config_locked": 0, "auth_regime": "session"})
    login = {"user": {"user_name": "primero", "password": DEFAULT_PASSWORD}}
    assert "group_permission" in post(primero.url("/api/v2/tokens"), json=login).json()


def test_clock_advances(primero):
    assert post(primero.url("/__sim/clock"), json={"advance_seconds": 90}).json() == {
        "offset_seconds": 90.0
    }
