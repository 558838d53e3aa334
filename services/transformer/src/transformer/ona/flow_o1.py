"""Flow O1, Primero -> ONA dashboard database (MAPPINGS C.4): one `case_upsert` per case.

The command carries the case row and its service rows, both keyed as the dashboard keys them
(`case_id` = Primero's short `case_id_display`, services by `unique_id`). Two columns groups are
not computed here:

- `last_updated_date` is the load time (C.4), so the loader stamps it when it writes;
- province and district (8 columns) come from ONA's own `locations_lookup` table. The mapping
  computes the lookup key (the district code of each location, §E.6) and the loader joins the
  table inside its upsert statement. The table is maintained by ONA in the target database;
  resolving it there means no copy to refresh, no query per record, and the join costs nothing
  in a set-based upsert. The mapping stays pure (no I/O, no clock).
"""

from __future__ import annotations

from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from casebridge.source_dates import iso_date, iso_timestamp
from transformer.mapping_gap import MappingGap
from transformer.ona.tables import OnaTables

PRODUCER = "transformer"
TARGET = "ona"
OPERATION = "case_upsert"
#: `service_implemented_day_time` value the old job turned into NULL.
NOT_IMPLEMENTED = "not implemented"


def map_o1(raw: RawRecord, tables: OnaTables) -> list[UpsertCommand]:
    """The ONA rows of one Primero case, as one command (the loader batches commands)."""
    case = raw.payload
    case_id = _text(case.get("case_id_display"))
    if not case_id:
        raise MappingGap(f"Primero case {raw.source.record_id} has no case_id_display")
    row = {
        "case_id": case_id,
        "registration_date": _text(iso_date(case.get("registration_date"))),
        "case_source": "oscar" if case.get("oscar_number") else "primero",
        "disabled": _lookup(tables.disability, case.get("disability_type")),
        "type_of_case": drop_last_token(case.get("type_of_case")),
        "sex": _sex(tables, case.get("sex")),
        "age": _age(case.get("age"), case_id),
        "protection_concerns": _concerns(tables, case.get("protection_concerns")),
        "placement_type": drop_last_token(case.get("type_of_placement")),
        "consent_for_reporting": _consent(case.get("consent_reporting")),
        "location_code": _kept_text(case.get("location_current")),
        "current_district_key": district_key(case.get("location_current")),
        "caregiver_district_key": district_key(case.get("location_caregiver")),
    }
    command = UpsertCommand.caused_by(
        raw,
        target=TARGET,
        operation=OPERATION,
        key={"case_id": case_id},
        payload={"case": row, "services": _services(tables, case, case_id)},
        producer=PRODUCER,
        mapping_version=tables.version,
    )
    return [command]


def district_key(location: Any) -> str | None:
    """The `locations_lookup.code` a location code belongs to (MAPPINGS C.4, §E.6).

    Primero drops the leading zero of provinces 01-09, so a 7-digit village `1070101` is in
    district `107` and an 8-digit `10060802` in `1006`: lengths 3, 5 and 7 keep 3 characters,
    any other length keeps 4. Empty -> no key (no match, the lookup columns stay NULL).
    """
    code = _text(location)
    if not code:
        return None
    return code[:3] if len(code) in (3, 5, 7) else code[:4]


def drop_last_token(value: Any) -> str | None:
    """`children_undergoing_reintegration_55427` -> `children undergoing reintegration`; a
    blank stays blank (`''`), as the old job wrote it into these text columns."""
    text = _kept_text(value)
    if not text:
        return text
    return " ".join(text.split("_")[:-1])


def _services(tables: OnaTables, case: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    """Every row of `services_section` (no filter, C.4), first occurrence per `unique_id`."""
    rows: dict[str, dict[str, Any]] = {}
    for index, service in enumerate(case.get("services_section") or []):
        if not isinstance(service, dict):
            raise MappingGap(f"service #{index} of case {case_id} is not an object")
        unique_id = _text(service.get("unique_id"))
        if not unique_id:
            raise MappingGap(f"service #{index} of case {case_id} has no unique_id")
        implemented = service.get("service_implemented_day_time")
        rows.setdefault(
            unique_id,
            {
                "case_id": case_id,
                "unique_id": unique_id,
                "service_type": _lookup(tables.service_type, service.get("service_type")),
                # A timestamp column: '' is no time (the old job's batch failed on it).
                "service_date": None
                if implemented in (None, "", NOT_IMPLEMENTED)
                else _text(iso_timestamp(implemented)),
            },
        )
    return list(rows.values())


def _text(value: Any) -> str | None:
    """Text, NULL for a blank: for columns that are no text (dates) and for lookups."""
    if value is None or value == "":
        return None
    return str(value)


def _kept_text(value: Any) -> str | None:
    """Text, NULL only when Primero has no value: the old adaptor wrote `''` as `''` into the
    dashboard's text columns (pg-format `%L`), and the dashboard's queries were built on that."""
    return None if value is None else str(value)


def _lookup(table: Any, value: Any) -> str | None:
    """The table's label, NULL when missing or unmapped (the old `map[value]` -> undefined)."""
    if not isinstance(value, str):
        return None
    label: str | None = table.get(value)
    return label


def _sex(tables: OnaTables, value: Any) -> str | None:
    text = _kept_text(value)
    return None if text is None else tables.sex.get(text, text)


def _age(value: Any, case_id: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingGap(f"age of case {case_id} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise MappingGap(f"age of case {case_id} is not a whole number")


def _concerns(tables: OnaTables, values: Any) -> str:
    """Labels joined with ', '; an unmapped id leaves an empty slot, as the old job did."""
    if not isinstance(values, list):
        return ""
    return ", ".join(tables.protection_concerns.get(str(v), "") for v in values)


def _consent(value: Any) -> str:
    """The value when truthy, else the string 'false' (C.4).

    Primero's `consent_reporting` is a boolean; the old adaptor's pg-format wrote `true` as
    `'t'`, so the dashboard's rows (and queries) hold `'t'`. `'t'` is also valid input if the
    column is a boolean (its type is not in the reference, G5). Text values pass through.
    """
    if not value:
        return "false"
    if value is True:
        return "t"
    return str(value)
