"""Mapping tables: packaged data, duplicate-key warnings, override dir, fail-fast validation."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from casebridge.redaction import Redactor
from transformer.cambodia import MappingTableError, load_tables
from transformer.cambodia.tables import PROVINCE_USERS, RISK, PrimeroService

PACKAGED = files("transformer").joinpath("mappings/cambodia")


def packaged(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PACKAGED.joinpath(name).read_text(encoding="utf-8"))
    return document


def test_packaged_tables_load_with_their_known_duplicates_as_warnings() -> None:
    tables = load_tables()
    assert tables.province_users["22"] == "mgromc"
    assert "19" not in tables.province_users
    assert len(tables.province_users) == 24
    assert tables.services_to_primero["Therapeutic interventions"] == PrimeroService(
        "mental_health_support", "mental_health_support_therapeutic_interventions"
    )
    assert len(tables.services_to_oscar) == 51
    assert len(tables.agency_users) == 24
    assert tables.status_to_oscar["rejected_936484"] == "Exited"
    assert tables.version.startswith("cambodia-")
    assert tables.warnings == (
        "cambodia-province-users.json: key '22' is declared more than once;"
        " the last declaration wins",
        "cambodia-service-map-oscar-to-primero.json: key 'Therapeutic interventions' is declared"
        " more than once; the last declaration wins",
        "cambodia-service-map-oscar-to-primero.json: key 'Therapeutic training' is declared more"
        " than once; the last declaration wins",
    )


def test_the_unused_status_table_is_not_shipped() -> None:
    names = {entry.name for entry in PACKAGED.iterdir()}
    assert not any("UNUSED" in name for name in names)


def test_an_override_file_replaces_its_table_and_changes_the_version(tmp_path: Path) -> None:
    province = packaged(PROVINCE_USERS)
    province["raw_entries"] = [*province["raw_entries"], {"code": "19", "user": "mgrstg"}]
    del province["effective"]
    (tmp_path / PROVINCE_USERS).write_text(json.dumps(province), encoding="utf-8")

    tables = load_tables(tmp_path)

    assert tables.province_users["19"] == "mgrstg"
    assert tables.agency_users["agency-cif"] == "agency-cif-user"  # untouched tables stay packaged
    assert tables.version != load_tables().version


def test_the_risk_default_is_none_as_shipped_and_a_partner_can_set_it(tmp_path: Path) -> None:
    assert load_tables().risk_to_oscar_default is None
    risk = packaged(RISK)
    risk["primero_to_oscar"]["default_when_missing"] = "medium"
    (tmp_path / RISK).write_text(json.dumps(risk), encoding="utf-8")
    assert load_tables(tmp_path).risk_to_oscar_default == "medium"


def test_effective_that_disagrees_with_the_entries_fails_start_up(tmp_path: Path) -> None:
    province = packaged(PROVINCE_USERS)
    province["raw_entries"] = [*province["raw_entries"], {"code": "19", "user": "mgrstg"}]
    (tmp_path / PROVINCE_USERS).write_text(json.dumps(province), encoding="utf-8")
    with pytest.raises(MappingTableError, match="'effective' disagrees"):
        load_tables(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"raw_entries": [{"code": "01"}]}', "is malformed"),
        ('{"raw_entries": "01=mgrbmc"}', "is malformed"),
    ],
)
def test_malformed_override_fails_start_up_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / PROVINCE_USERS).write_text(content, encoding="utf-8")
    with pytest.raises(MappingTableError, match=f"{PROVINCE_USERS} {message}"):
        load_tables(tmp_path)


def test_missing_override_dir_fails(tmp_path: Path) -> None:
    with pytest.raises(MappingTableError, match="is not a directory"):
        load_tables(tmp_path / "absent")


def test_sensitive_fields_come_from_the_mapping_data_and_redact_logs() -> None:
    tables = load_tables()
    redactor = Redactor(tables.sensitive_fields)
    event = redactor(
        None,
        "warning",
        {"case_worker_name": "A. Staff", "reason_for_referral": "text", "case_id": "c-1"},
    )
    assert event["case_worker_name"] == event["reason_for_referral"] == "[redacted]"
    assert event["case_id"] == "c-1"
