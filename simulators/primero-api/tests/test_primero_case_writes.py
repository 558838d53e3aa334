"""Case create/PATCH/DELETE contract (API.md 1.4, primero-v2-case-*.json, error shapes)."""

from __future__ import annotations

import re
import uuid

ISO_MS_Z = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
NEW = {"module_id": "primeromodule-cp", "name_first": "Amina", "sex": "female", "age": 11}


def create(client, primero, **data):
    return client.post(primero.url("/api/v2/cases"), json={"data": {**NEW, **data}})


def stored(primero, record_id):
    return primero.state.store.get(record_id)


def test_create_fills_server_fields_and_returns_200(client, primero):
    response = create(client, primero, services_section=[{"service_type": "alternative_care"}])
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["enabled"] is True
    assert data["record_state"] is True
    assert data["status"] == "open"
    assert data["owned_by"] == "primero"
    assert data["case_id"] == data["unique_identifier"]
    assert data["short_id"] == data["unique_identifier"][-7:] == data["case_id_display"]
    assert uuid.UUID(data["services_section"][0]["unique_id"])
    assert ISO_MS_Z.match(data["last_updated_at"])
    assert ISO_MS_Z.match(data["created_at"])
    assert stored(primero, data["id"])["name_first"] == "Amina"


def test_create_with_client_id_is_204_and_duplicates_are_409(client, primero):
    record_id = str(uuid.uuid4())
    response = create(client, primero, id=record_id, case_id="case-123")
    assert response.status_code == 204
    assert response.content == b""
    again = create(client, primero, id=record_id)
    assert again.status_code == 409
    assert again.json() == {
        "errors": [
            {
                "status": 409,
                "resource": "/api/v2/cases",
                "message": "Conflict: A record with this id already exists",
            }
        ]
    }
    assert create(client, primero, case_id="case-123").status_code == 409


def test_unknown_fields_are_dropped_not_rejected(client, primero):
    response = create(client, primero, favourite_colour="blue", remote=True)
    assert response.status_code == 200
    record = stored(primero, response.json()["data"]["id"])
    assert "favourite_colour" not in record
    assert "remote" not in record


def test_invalid_record_json_has_pointer_array(client, primero):
    response = create(client, primero, age="eleven", status="lost")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert sorted(error.pop("detail")) == ["/age", "/status"]
    assert error == {"status": 422, "resource": "/api/v2/cases", "message": "Invalid Record JSON"}


def test_subform_unique_id_must_be_lowercase_uuid(client, primero):
    rows = [{"unique_id": "ABC", "service_type": "x"}]
    response = create(client, primero, services_section=rows)
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == ["/services_section/0/unique_id"]


def test_model_validation_is_one_error_per_field_with_message_array(client, primero):
    response = create(client, primero, date_of_birth="2999-01-01")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["detail"] == "date_of_birth"
    assert isinstance(error["message"], list)
    assert error["message"]


def test_missing_data_is_422(client, primero):
    response = client.post(primero.url("/api/v2/cases"), json={"nope": {}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("param is missing")


def test_patch_merges_subforms_like_the_reference_example(client, primero):
    record_id = create(client, primero).json()["data"]["id"]
    first, second = "a1b2c3d4-0001-4a5b-8c9d-000000000001", "a1b2c3d4-0002-4a5b-8c9d-000000000002"
    third = "a1b2c3d4-0003-4a5b-8c9d-000000000003"
    before = {
        "risk_level": "low",
        "services_section": [
            {
                "unique_id": first,
                "service_type": "counselling",
                "referral_status_edf41f2": "pending_310366",
            },
            {"unique_id": second, "service_type": "medical_support"},
        ],
    }
    client.patch(primero.url(f"/api/v2/cases/{record_id}"), json={"data": before})
    old_stamp = stored(primero, record_id)["last_updated_at"]
    patch = {
        "risk_level": "high",
        "services_section": [
            {"unique_id": first, "referral_status_edf41f2": "accepted_340953"},
            {"unique_id": second, "_destroy": True},
            {"unique_id": third, "service_type": "legal_support"},
            {"service_type": "appended"},
        ],
    }
    response = client.patch(primero.url(f"/api/v2/cases/{record_id}"), json={"data": patch})
    assert response.status_code == 200
    data = response.json()["data"]
    rows = stored(primero, record_id)["services_section"]
    assert [r.get("unique_id") for r in rows[:2]] == [first, third]
    assert rows[0] == {
        "unique_id": first,
        "service_type": "counselling",
        "referral_status_edf41f2": "accepted_340953",
    }
    assert rows[2]["service_type"] == "appended"
    assert uuid.UUID(rows[2]["unique_id"])
    assert len(rows) == 3
    assert {"id", "enabled", "risk_level", "services_section", "last_updated_at"} <= set(data)
    assert "sex" not in data  # unchanged fields are not echoed
    assert data["risk_level"] == "high"
    assert data["services_section"] == rows
    assert data["last_updated_at"] >= old_stamp


def test_patch_empty_array_is_a_no_op_and_scalar_arrays_are_replaced(client, primero):
    created = create(
        client, primero, services_section=[{"service_type": "a"}], protection_concerns=["x", "y"]
    ).json()["data"]
    record_id = created["id"]
    body = {"data": {"services_section": [], "protection_concerns": ["z"], "name_first": None}}
    client.patch(primero.url(f"/api/v2/cases/{record_id}"), json=body)
    record = stored(primero, record_id)
    assert [r["service_type"] for r in record["services_section"]] == ["a"]
    assert record["protection_concerns"] == ["z"]
    assert record["name_first"] is None  # present keys overwrite, null included
    assert record["sex"] == "female"  # missing keys untouched


def test_patch_returns_only_changed_fields(client, primero):
    record_id = create(client, primero).json()["data"]["id"]
    data = client.patch(
        primero.url(f"/api/v2/cases/{record_id}"), json={"data": {"sex": "female", "age": 12}}
    ).json()["data"]
    assert "sex" not in data
    assert data["age"] == 12
    assert {"id", "enabled", "last_updated_at"} <= set(data)


def test_patch_unknown_id_is_404_with_detail(client, primero):
    response = client.patch(primero.url("/api/v2/cases/thisdoesntexist"), json={"data": {"age": 1}})
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {
                "status": 404,
                "resource": "/api/v2/cases/thisdoesntexist",
                "detail": "Couldn't find Child with 'id'=thisdoesntexist",
                "message": "Not Found",
            }
        ]
    }


def test_patch_bumps_last_updated_at_and_show_returns_it(client, primero):
    record_id = "ee03c7e4-46bd-40ed-9312-01ce08515f1a"
    client.patch(primero.url(f"/api/v2/cases/{record_id}"), json={"data": {"risk_level": "high"}})
    shown = client.get(primero.url(f"/api/v2/cases/{record_id}")).json()["data"]
    assert shown["last_updated_at"] > "2021-11-09T10:38:34.074Z"
    assert ISO_MS_Z.match(shown["last_updated_at"])
    assert shown["risk_level"] == "high"


def test_delete_soft_disables(client, primero):
    record_id = "ee03c7e4-46bd-40ed-9312-01ce08515f1a"
    response = client.delete(primero.url(f"/api/v2/cases/{record_id}"))
    assert response.json() == {"data": {"id": record_id}}
    shown = client.get(primero.url(f"/api/v2/cases/{record_id}")).json()["data"]
    assert shown["record_state"] is False
    assert shown["enabled"] is False
