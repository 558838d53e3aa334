"""The Cambodia lookup tables, validated once at start-up from package data or an override dir.

A malformed table fails start-up with the file name and the pydantic error, so a bad ConfigMap
never reaches a message. Duplicate keys in a table's declared entries are kept verbatim in the
file; lookups resolve them last-declared-wins (what the old scripts did at runtime) and each one
becomes a warning the caller logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

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


T = TypeVar("T", bound="_Table")
V = TypeVar("V")


class MappingTableError(ValueError):
    """A mapping file is missing, not JSON, or not shaped as its table requires."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="allow")


class _StringMap(_Table):
    data: dict[str, str]


class _ProvinceEntry(_Table):
    code: str
    user: str


class _ProvinceUsers(_Table):
    raw_entries: list[_ProvinceEntry]
    effective: dict[str, str] | None = None


class _ServiceEntry(_Table):
    oscar_name: str
    primero_subtype: str
    primero_type: str


class _ServicesToPrimero(_Table):
    raw_entries: list[_ServiceEntry]


class _GenderToPrimero(_Table):
    data: dict[str, str]
    default: str


class _Gender(_Table):
    oscar_to_primero: _GenderToPrimero


class _RiskToOscar(_Table):
    data: dict[str, str]


class _RiskToPrimero(_Table):
    data: dict[str, str]
    default_when_missing: str


class _Risk(_Table):
    primero_to_oscar: _RiskToOscar
    oscar_to_primero: _RiskToPrimero


class _Sensitive(_Table):
    fields: list[str]


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


def load_tables(mapping_dir: Path | None = None) -> CambodiaTables:
    """Read the packaged tables; a file of the same name in `mapping_dir` replaces its table."""
    sources = _sources(mapping_dir)
    raw = {name: _read(name, source) for name, source in sources.items()}
    warnings: list[str] = []
    province = _parse(PROVINCE_USERS, raw, _ProvinceUsers)
    provinces = _last_wins(
        PROVINCE_USERS, ((e.code, e.user) for e in province.raw_entries), warnings
    )
    _check_effective(PROVINCE_USERS, province.effective, provinces)
    services = _parse(SERVICES_TO_PRIMERO, raw, _ServicesToPrimero)
    to_primero = _last_wins(
        SERVICES_TO_PRIMERO,
        (
            (e.oscar_name, PrimeroService(e.primero_type, e.primero_subtype))
            for e in services.raw_entries
        ),
        warnings,
    )
    gender = _parse(GENDER, raw, _Gender).oscar_to_primero
    risk = _parse(RISK, raw, _Risk)
    return CambodiaTables(
        services_to_oscar=_frozen(_parse(SERVICES_TO_OSCAR, raw, _StringMap).data),
        services_to_primero=_frozen(to_primero),
        province_users=_frozen(provinces),
        agency_users=_frozen(_parse(AGENCY_USERS, raw, _StringMap).data),
        status_to_oscar=_frozen(_parse(STATUS_TO_OSCAR, raw, _StringMap).data),
        status_to_primero_service=_frozen(_parse(STATUS_TO_PRIMERO_SERVICE, raw, _StringMap).data),
        service_to_referral_status=_frozen(
            _parse(SERVICE_TO_REFERRAL_STATUS, raw, _StringMap).data
        ),
        gender_to_primero=_frozen(gender.data),
        gender_default=gender.default,
        risk_to_oscar=_frozen(risk.primero_to_oscar.data),
        risk_to_primero=_frozen(risk.oscar_to_primero.data),
        risk_default=risk.oscar_to_primero.default_when_missing,
        sensitive_fields=frozenset(_parse(SENSITIVE, raw, _Sensitive).fields),
        version=_version(raw),
        warnings=tuple(warnings),
    )


def _sources(mapping_dir: Path | None) -> dict[str, Traversable]:
    packaged = files(PACKAGE_DATA[0]).joinpath(PACKAGE_DATA[1])
    sources: dict[str, Traversable] = {
        entry.name: entry for entry in packaged.iterdir() if entry.name.endswith(".json")
    }
    if mapping_dir is not None:
        if not mapping_dir.is_dir():
            raise MappingTableError(f"MAPPING_DIR {mapping_dir} is not a directory")
        for path in sorted(mapping_dir.glob("*.json")):
            sources[path.name] = path
    return sources


def _read(name: str, source: Traversable) -> bytes:
    try:
        return source.read_bytes()
    except OSError as exc:
        raise MappingTableError(f"mapping file {name} cannot be read: {exc}") from exc


def _parse(name: str, raw: Mapping[str, bytes], model: type[T]) -> T:
    if name not in raw:
        raise MappingTableError(f"mapping file {name} is missing")
    try:
        document: Any = orjson.loads(raw[name])
    except orjson.JSONDecodeError as exc:
        raise MappingTableError(f"mapping file {name} is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MappingTableError(f"mapping file {name} is malformed: {exc}") from exc


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


def _frozen(values: Mapping[str, V]) -> Mapping[str, V]:
    return MappingProxyType(dict(values))


def _version(raw: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(raw[name])
        digest.update(b"\0")
    return f"cambodia-{digest.hexdigest()[:12]}"
