"""The Cambodia lookup tables, validated once at start-up from package data or an override dir.

A malformed table fails start-up with the file name and the pydantic error, so a bad ConfigMap
never reaches a message. Duplicate keys in a table's declared entries are kept verbatim in the
file; lookups resolve them last-declared-wins (what the old scripts did at runtime) and each one
becomes a warning the caller logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from transformer.table_files import (
    MappingTableError,
    SensitiveFields,
    StringMap,
    TableModel,
    frozen,
    parse_table,
    read_table_files,
    tables_version,
)

PACKAGE_DATA = ("transformer", "mappings/cambodia")

AGENCY_USERS = "cambodia-agency-users.json"
PROVINCE_USERS = "cambodia-province-users.json"
SERVICES_TO_OSCAR = "cambodia-service-map-primero-to-oscar.json"
SERVICES_TO_PRIMERO = "cambodia-service-map-oscar-to-primero.json"
STATUS_TO_OSCAR = "cambodia-referral-status-primero-to-oscar.json"
STATUS_TO_PRIMERO_SERVICE = "cambodia-referral-status-oscar-to-primero-service.json"
SERVICE_TO_REFERRAL_STATUS = "cambodia-primero-service-status-to-referral-status.json"
GENDER = "cambodia-gender-map.json"
RISK = "cambodia-risk-level-map.json"
SENSITIVE = "sensitive-fields.json"


V = TypeVar("V")


class _ProvinceEntry(TableModel):
    code: str
    user: str


class _ProvinceUsers(TableModel):
    raw_entries: list[_ProvinceEntry]
    effective: dict[str, str] | None = None


class _ServiceEntry(TableModel):
    oscar_name: str
    primero_subtype: str
    primero_type: str


class _ServicesToPrimero(TableModel):
    raw_entries: list[_ServiceEntry]


class _GenderToPrimero(TableModel):
    data: dict[str, str]
    default: str


class _Gender(TableModel):
    oscar_to_primero: _GenderToPrimero


class _RiskToOscar(TableModel):
    data: dict[str, str]
    default_when_missing: str | None = None


class _RiskToPrimero(TableModel):
    data: dict[str, str]
    default_when_missing: str


class _Risk(TableModel):
    primero_to_oscar: _RiskToOscar
    oscar_to_primero: _RiskToPrimero


@dataclass(frozen=True)
class PrimeroService:
    """A Primero service type and subtype option id."""

    type: str
    subtype: str


@dataclass(frozen=True)
class CambodiaTables:
    """Every lookup the Cambodia flows use, read-only; `version` stamps each command."""

    services_to_oscar: Mapping[str, str]
    services_to_primero: Mapping[str, PrimeroService]
    province_users: Mapping[str, str]
    agency_users: Mapping[str, str]
    status_to_oscar: Mapping[str, str]
    status_to_primero_service: Mapping[str, str]
    service_to_referral_status: Mapping[str, str]
    gender_to_primero: Mapping[str, str]
    gender_default: str
    risk_to_oscar: Mapping[str, str]
    risk_to_primero: Mapping[str, str]
    risk_default: str
    sensitive_fields: frozenset[str]
    version: str
    warnings: tuple[str, ...] = field(default=())
    #: OSCaR's level_of_risk for a case without risk_level; None: the case is a mapping gap.
    risk_to_oscar_default: str | None = None


def load_tables(mapping_dir: Path | None = None) -> CambodiaTables:
    """Read the packaged tables; a file of the same name in `mapping_dir` replaces its table."""
    raw = read_table_files("cambodia", mapping_dir, override_glob="*.json")
    warnings: list[str] = []
    province = parse_table(PROVINCE_USERS, raw, _ProvinceUsers)
    provinces = _last_wins(
        PROVINCE_USERS, ((e.code, e.user) for e in province.raw_entries), warnings
    )
    _check_effective(PROVINCE_USERS, province.effective, provinces)
    services = parse_table(SERVICES_TO_PRIMERO, raw, _ServicesToPrimero)
    to_primero = _last_wins(
        SERVICES_TO_PRIMERO,
        (
            (e.oscar_name, PrimeroService(e.primero_type, e.primero_subtype))
            for e in services.raw_entries
        ),
        warnings,
    )
    gender = parse_table(GENDER, raw, _Gender).oscar_to_primero
    risk = parse_table(RISK, raw, _Risk)
    return CambodiaTables(
        services_to_oscar=frozen(parse_table(SERVICES_TO_OSCAR, raw, StringMap).data),
        services_to_primero=frozen(to_primero),
        province_users=frozen(provinces),
        agency_users=frozen(parse_table(AGENCY_USERS, raw, StringMap).data),
        status_to_oscar=frozen(parse_table(STATUS_TO_OSCAR, raw, StringMap).data),
        status_to_primero_service=frozen(
            parse_table(STATUS_TO_PRIMERO_SERVICE, raw, StringMap).data
        ),
        service_to_referral_status=frozen(
            parse_table(SERVICE_TO_REFERRAL_STATUS, raw, StringMap).data
        ),
        gender_to_primero=frozen(gender.data),
        gender_default=gender.default,
        risk_to_oscar=frozen(risk.primero_to_oscar.data),
        risk_to_oscar_default=risk.primero_to_oscar.default_when_missing,
        risk_to_primero=frozen(risk.oscar_to_primero.data),
        risk_default=risk.oscar_to_primero.default_when_missing,
        sensitive_fields=frozenset(parse_table(SENSITIVE, raw, SensitiveFields).fields),
        version=tables_version("cambodia", raw),
        warnings=tuple(warnings),
    )


def _last_wins(name: str, entries: Iterable[tuple[str, V]], warnings: list[str]) -> dict[str, V]:
    resolved: dict[str, V] = {}
    for key, value in entries:
        if key in resolved and resolved[key] != value:
            warnings.append(
                f"{name}: key {key!r} is declared more than once; the last declaration wins"
            )
        resolved[key] = value
    return resolved


def _check_effective(
    name: str, effective: Mapping[str, str] | None, resolved: Mapping[str, str]
) -> None:
    if effective is not None and dict(effective) != dict(resolved):
        raise MappingTableError(
            f"mapping file {name}: 'effective' disagrees with 'raw_entries'"
            " (lookups use raw_entries, last declaration wins); fix or remove 'effective'"
        )
