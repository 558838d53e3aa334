"""API.md §2.3-2.4: GET /clients — two shapes, since_date precision per set, exclusions."""

from __future__ import annotations

import pytest

from oscar_sim.paths import CLIENTS

REFERRED_KEYS = {
    "slug", "global_id", "external_id", "external_id_display", "mosvy_number", "given_name",
    "family_name", "gender", "date_of_birth", "location_current_village_code",
    "address_current_village_code", "organization_id", "organization_name",
    "external_case_worker_name", "external_case_worker_id", "reason_for_referral", "status",
    "case_worker_name", "case_worker_mobile", "is_referred", "referral_consent_form",
    "organization_address_code", "level_of_risk", "services",
}  # fmt: skip
SHARED_KEYS = {
    "given_name", "family_name", "local_given_name", "local_family_name", "gender",
    "date_of_birth", "global_id", "slug", "external_id", "external_id_display", "status",
    "mosvy_number", "location_current_village_code", "case_worker_name", "case_worker_mobile",
    "is_referred", "organization_name", "organization_address_code", "resource", "services",
}  # fmt: skip


def client(slug, *, referred, created, updated=None, **extra):
    record = {
        "slug": slug,
        "given_name": "Dara",
        "family_name": "Sok",
        "gender": "male",
        "date_of_birth": "2014-09-08",
        "organization_name": "cif",
        "location_current_village_code": "02040302",
        "created_at": created,
        "updated_at": updated or created,
        "referred_external": referred,
    }
    record.update(extra)
    return record


def slugs(oscar, http, auth, **params):
    response = http.get(oscar.url + CLIENTS, headers=auth, params=params)
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["data"]]


def test_reference_samples_come_back_in_both_shapes_referred_first(oscar, http, auth):
    http.post(oscar.url + "/__sim/seed", json={"source": "samples"})
    response = http.get(oscar.url + CLIENTS, headers=auth)
    data = response.json()["data"]
    assert list(response.json()) == ["data"]
    flags = [item["is_referred"] for item in data]
    assert flags == sorted(flags, reverse=True)
    assert True in flags
    assert False in flags
    for item in data:
        assert set(item) == (REFERRED_KEYS if item["is_referred"] else SHARED_KEYS)
    linked = next(i for i in data if i["slug"] == "abc-1234")
    assert linked["resource"] == "primero"
    assert {s["referral_id"] for s in linked["services"]} == {1193, 1194}
    unlinked = next(i for i in data if i["slug"] == "eiu-890")
    assert unlinked["resource"] is None
    assert unlinked["services"] == []
    assert unlinked["local_family_name"] == "សុខ"


def test_referred_set_filters_at_full_timestamp_precision(oscar, http, auth):
    oscar.sim.load(
        [
            client("early", referred=True, created="2025-03-20T08:00:00+00:00"),
            client("late", referred=True, created="2025-03-20T12:00:00+00:00"),
        ]
    )
    assert slugs(oscar, http, auth, since_date="2025-03-20 10:00:00") == ["late"]
    assert slugs(oscar, http, auth, since_date="2025-03-20 00:00:00") == ["late", "early"]


def test_shared_set_filters_by_day_only(oscar, http, auth):
    oscar.sim.load(
        [
            client("same-day", referred=False, created="2025-03-20T08:00:00+00:00"),
            client("day-before", referred=False, created="2025-03-19T23:59:59+00:00"),
        ]
    )
    # 08:00 is before 10:00, but DATE(created_at) >= '2025-03-20' still matches.
    assert slugs(oscar, http, auth, since_date="2025-03-20 10:00:00") == ["same-day"]


def test_updated_at_alone_qualifies_a_client(oscar, http, auth):
    oscar.sim.load(
        [
            client(
                "touched",
                referred=True,
                created="2024-01-01T00:00:00+00:00",
                updated="2025-03-21T09:00:00+00:00",
            ),
            client("stale", referred=True, created="2024-01-01T00:00:00+00:00"),
        ]
    )
    assert slugs(oscar, http, auth, since_date="2025-03-21T08:00:00.000Z") == ["touched"]


def test_each_set_is_ordered_by_updated_at_desc(oscar, http, auth):
    oscar.sim.load(
        [
            client("s-old", referred=False, created="2025-01-01T00:00:00+00:00"),
            client("r-old", referred=True, created="2025-01-01T00:00:00+00:00"),
            client("s-new", referred=False, created="2025-02-01T00:00:00+00:00"),
            client("r-new", referred=True, created="2025-02-01T00:00:00+00:00"),
        ]
    )
    assert slugs(oscar, http, auth) == ["r-new", "r-old", "s-new", "s-old"]


@pytest.mark.parametrize(
    "missing",
    [
        {"gender": ""},
        {"date_of_birth": None},
        {"given_name": None, "local_given_name": None},
        {"family_name": "", "local_family_name": None},
    ],
)
def test_clients_missing_name_gender_or_dob_are_never_returned(oscar, http, auth, missing):
    oscar.sim.load(
        [client("incomplete", referred=True, created="2025-03-20T00:00:00+00:00", **missing)]
    )
    oscar.sim.load(
        [
            client(
                "shared-incomplete", referred=False, created="2025-03-20T00:00:00+00:00", **missing
            )
        ]
    )
    assert slugs(oscar, http, auth) == []


def test_local_names_alone_are_enough(oscar, http, auth):
    oscar.sim.load(
        [
            client(
                "khmer-only",
                referred=False,
                created="2025-03-20T00:00:00+00:00",
                given_name=None,
                family_name=None,
                local_given_name="ទី",
                local_family_name="សុខ",
            )
        ]
    )
    assert slugs(oscar, http, auth) == ["khmer-only"]


def test_non_integrated_tenants_are_left_out(oscar, http, auth):
    oscar.sim.load(
        [
            client(
                "hidden",
                referred=False,
                created="2025-03-20T00:00:00+00:00",
                organization_name="training",
            )
        ]
    )
    assert slugs(oscar, http, auth) == []


def test_referred_external_query_param_is_ignored(oscar, http, auth):
    oscar.sim.load([client("shared", referred=False, created="2025-03-20T00:00:00+00:00")])
    assert slugs(oscar, http, auth, referred_external="true") == ["shared"]


def test_unparseable_since_date_is_an_html_500(oscar, http, auth):
    response = http.get(oscar.url + CLIENTS, headers=auth, params={"since_date": "yesterday-ish"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")


def test_end_date_switches_to_historical_mode(oscar, http, auth):
    oscar.sim.load(
        [
            client(
                "b",
                referred=True,
                created="2025-02-10T00:00:00+00:00",
                updated="2025-03-30T00:00:00+00:00",
            ),
            client("a", referred=False, created="2025-02-01T00:00:00+00:00"),
            client("outside", referred=False, created="2025-04-01T00:00:00+00:00"),
        ]
    )
    response = http.get(
        oscar.url + CLIENTS,
        headers=auth,
        params={"since_date": "2025-01-01 00:00:00", "end_date": "2025-03-01 00:00:00"},
    )
    data = response.json()["data"]
    assert [i["slug"] for i in data] == ["a", "b"]  # created_at ascending
    assert all(set(i) == SHARED_KEYS for i in data)


def test_without_an_external_system_no_client_is_in_the_referred_set(http):
    from oscar_sim.config import OscarConfig
    from oscar_sim.testing import running_oscar

    with running_oscar(OscarConfig(external_system_name=None)) as oscar:
        oscar.sim.load([client("r", referred=True, created="2025-03-20T00:00:00+00:00")])
        signed = http.post(
            oscar.url + "/api/v1/admin_auth/sign_in",
            json={"email": oscar.email, "password": oscar.password},
        )
        auth = {k: signed.headers[k] for k in ("access-token", "client", "uid")}
        data = http.get(oscar.url + CLIENTS, headers=auth).json()["data"]
        assert [(i["slug"], i["is_referred"]) for i in data] == [("r", False)]
