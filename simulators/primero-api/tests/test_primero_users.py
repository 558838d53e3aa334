"""``GET /api/v2/users`` (used by proGres Flow 2-2 with Basic auth)."""

from __future__ import annotations


def test_users_are_paginated_with_metadata(client, primero):
    body = client.get(primero.url("/api/v2/users"), params={"per": 100000, "page": 1}).json()
    total = len(primero.state.directory.users)
    assert body["metadata"] == {"total": total, "per": 1000, "page": 1}
    names = {u["user_name"] for u in body["data"]}
    assert {"openfn_cp_user", "unhcr_cw", "agency-cif-user", "mgrpnh"} <= names
    user = next(u for u in body["data"] if u["user_name"] == "unhcr_cw")
    assert {"id", "full_name", "email", "phone", "position", "agency_id"} <= set(user)
    assert "password" not in user


def test_users_default_page_size(client, primero):
    body = client.get(primero.url("/api/v2/users")).json()
    assert body["metadata"]["per"] == 20
    assert len(body["data"]) == 20
