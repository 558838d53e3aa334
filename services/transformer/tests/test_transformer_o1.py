"""Flow O1 (Primero -> ONA): the reference sample's exact command, the column rules, the gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import RawRecord, SourceRef
from transformer.bootstrap import bootstrap
from transformer.cambodia import load_tables
from transformer.config import Settings
from transformer.flows import FlowRouter, packaged_mappers
from transformer.mapping_gap import MappingGap
from transformer.ona import district_key, load_ona_tables, map_o1
from transformer.ona.flow_o1 import drop_last_token
from transformer.table_files import MappingTableError

from .conftest import sample_records

TABLES = load_ona_tables()


def o1_raw(case: dict[str, Any], query: str = "primero:o1-4.8") -> RawRecord:
    source = SourceRef(
        system="primero",
        record_type="case",
        record_id=str(case.get("id") or "case"),
        updated_at=case.get("last_updated_at"),
    )
    return RawRecord.of(flow="o1", source=source, payload=case, producer="tests", query=query)


def test_the_ona_reference_sample_maps_to_its_exact_rows() -> None:
    case = sample_records("primero-cases.json")[4]
    [command] = map_o1(o1_raw(case), TABLES)
    assert (command.target, command.operation, command.key) == (
        "ona",
        "case_upsert",
        {"case_id": "2d3e4f5"},
    )
    assert command.payload == {
        "case": {
            "case_id": "2d3e4f5",
            "registration_date": "2023-11-02",
            "case_source": "primero",
            "disabled": "Vision Disability",
            "type_of_case": "children undergoing reintegration",
            "sex": "Male",
            "age": 12,
            "protection_concerns": "Abandonment, At risk of child labour",
            "placement_type": "kinship care",
            "consent_for_reporting": "t",  # Primero's true, as pg-format wrote it
            "location_code": "1070101",
            "current_district_key": "107",
            "caregiver_district_key": "1006",
        },
        "services": [
            {
                "case_id": "2d3e4f5",
                "unique_id": "7a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
                "service_type": "Family Based Care",
                "service_date": "2023-11-20T00:00:00.000Z",
            },
            {
                "case_id": "2d3e4f5",
                "unique_id": "8b2c3d4e-5f60-4172-9384-a5b6c7d8e9f0",
                "service_type": "Counselling",
                "service_date": None,
            },
        ],
    }
    assert command.mapping_version == TABLES.version
    assert TABLES.version.startswith("ona-")


def test_a_case_found_by_both_queries_is_one_message() -> None:
    """Query A (4.8) and B (4.11a) overlap: the raw record id ignores the query, so the
    fetcher's message-id dedup publishes the case once, and its commands are identical."""
    case = sample_records("primero-cases.json")[4]
    a, b = o1_raw(case, "primero:o1-4.8"), o1_raw(case, "primero:o1-4.11a")
    assert a.message_id == b.message_id
    [from_a], [from_b] = map_o1(a, TABLES), map_o1(b, TABLES)
    assert (from_a.message_id, from_a.payload) == (from_b.message_id, from_b.payload)


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("1070101", "107"),  # 7: province 01 lost its leading zero
        ("10060802", "1006"),  # 8
        ("10060", "100"),  # 5
        ("107", "107"),  # 3
        ("1006", "1006"),  # 4
        ("120101", "1201"),  # 6
        (1070101, "107"),  # a number, read as text
        ("", None),
        (None, None),
    ],
)
def test_district_key_by_length(location: Any, key: str | None) -> None:
    assert district_key(location) == key


def test_column_rules() -> None:
    case = {
        "id": "u",
        "case_id_display": "abc1234",
        "oscar_number": "01GA",
        "sex": "unknown_x",
        "age": "18",
        "protection_concerns": ["refugee", "not_in_table", "caafag"],
        "consent_reporting": "",
        "disability_type": "not_in_table",
        "services_section": [
            {"unique_id": "s1", "service_type": "not_in_table", "service_implemented_day_time": ""},
            {"unique_id": "s1", "service_type": "other"},
        ],
        "last_updated_at": "2024-01-01T00:00:00.000Z",
    }
    [command] = map_o1(o1_raw(case), TABLES)
    row = command.payload["case"]
    assert row["case_source"] == "oscar"
    assert row["sex"] == "unknown_x"  # unmapped sex passes through
    assert row["age"] == 18
    assert row["protection_concerns"] == "Separated, , Orphaned"
    assert row["consent_for_reporting"] == "false"
    assert row["disabled"] is None
    assert row["type_of_case"] is None  # absent
    assert command.payload["services"] == [
        {"case_id": "abc1234", "unique_id": "s1", "service_type": None, "service_date": None}
    ]
    assert drop_last_token("foster_care_123") == "foster care"


def test_blank_text_stays_blank_and_a_blank_time_is_null() -> None:
    """Decided against the old adaptor and the columns: `''` is what it wrote into the text
    columns; `''` is no timestamp (the old batch failed on it), so service_date is NULL."""
    case = {
        "id": "u",
        "case_id_display": "abc1234",
        "type_of_placement": "",
        "type_of_case": "",
        "location_current": "",
        "sex": "",
        "registration_date": "",
        "services_section": [{"unique_id": "s1", "service_implemented_day_time": ""}],
        "last_updated_at": "2024-01-01T00:00:00.000Z",
    }
    [command] = map_o1(o1_raw(case), TABLES)
    row = command.payload["case"]
    assert (row["placement_type"], row["type_of_case"], row["location_code"], row["sex"]) == (
        "",
        "",
        "",
        "",
    )
    assert row["current_district_key"] is None
    assert row["registration_date"] is None
    assert command.payload["services"][0]["service_date"] is None
    absent = map_o1(o1_raw({"id": "u", "case_id_display": "abc1234"}), TABLES)[0]
    assert absent.payload["case"]["placement_type"] is None
    assert absent.payload["case"]["location_code"] is None


@pytest.mark.parametrize(
    ("consent", "written"), [(True, "t"), ("true", "true"), (False, "false"), (None, "false")]
)
def test_consent_for_reporting_as_the_old_adaptor_wrote_it(consent: Any, written: str) -> None:
    case = {"id": "u", "case_id_display": "abc1234", "consent_reporting": consent}
    assert map_o1(o1_raw(case), TABLES)[0].payload["case"]["consent_for_reporting"] == written


def test_slashed_source_times_are_read_and_written_as_iso() -> None:
    """Primero v1-era values (`2020/07/05 00:40:00`): PostgreSQL read them for the old job."""
    case = {
        "id": "u",
        "case_id_display": "abc1234",
        "registration_date": "2020/07/05",
        "services_section": [
            {"unique_id": "s1", "service_implemented_day_time": "2020/07/05 00:40:00"},
            {"unique_id": "s2", "service_implemented_day_time": "2020/08/24 13:17:05 +0000"},
            {"unique_id": "s3", "service_implemented_day_time": "2023-11-20T00:00:00.000Z"},
        ],
    }
    [command] = map_o1(o1_raw(case), TABLES)
    assert command.payload["case"]["registration_date"] == "2020-07-05"
    assert [s["service_date"] for s in command.payload["services"]] == [
        "2020-07-05T00:40:00",
        "2020-08-24T13:17:05+00:00",
        "2023-11-20T00:00:00.000Z",  # ISO already: unchanged
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"case_id_display": None}, "has no case_id_display"),
        ({"age": "ten"}, "age of case abc1234 is not a whole number"),
        ({"services_section": [{"service_type": "other"}]}, "service #0 of case abc1234"),
    ],
)
def test_gaps_name_ids_only(change: dict[str, Any], reason: str) -> None:
    case = {"id": "u", "case_id_display": "abc1234", "last_updated_at": "2024-01-01T00:00:00Z"}
    with pytest.raises(MappingGap, match=reason):
        map_o1(o1_raw(case | change), TABLES)


def test_mapping_dir_replaces_the_ona_tables_in_the_service(tmp_path: Path) -> None:
    """A `MAPPING_DIR` file named like a packaged ONA table replaces it in the running service
    (it used to reach the Cambodia tables only), and the version follows."""
    override = {"source": "test override", "data": {"male": "M", "female": "F"}}
    (tmp_path / "ona-sex-map.json").write_bytes(orjson.dumps(override))
    settings = Settings(transport="memory", topology_prefix="t", mapping_dir=tmp_path)
    service = bootstrap(settings, transport=MemoryTransport(MemoryBroker()))
    router = service.consumers[0]._handler
    case = {**sample_records("primero-cases.json")[4], "sex": "male"}
    [command] = router(o1_raw(case))
    assert command.payload["case"]["sex"] == "M"
    assert command.mapping_version == load_ona_tables(tmp_path).version != TABLES.version
    [packaged] = FlowRouter(packaged_mappers(load_tables()))(o1_raw(case))
    assert packaged.payload["case"]["sex"] == "Male"


def test_a_malformed_ona_override_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "ona-sex-map.json").write_bytes(b'{"data": ["not", "a", "map"]}')
    with pytest.raises(MappingTableError, match=r"ona-sex-map\.json"):
        bootstrap(
            Settings(transport="memory", topology_prefix="t", mapping_dir=tmp_path),
            transport=MemoryTransport(MemoryBroker()),
        )
