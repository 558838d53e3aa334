"""The ONA lookup tables (`ona-*.json`, verbatim from the reference), validated at start-up.

The option ids are legacy Primero ids whose labels were re-purposed in the Cambodia
configuration (MAPPINGS C.6): the tables are kept verbatim, however odd a pair looks.
`ona-columns.json` documents the column rules; it is shipped and included in the version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from transformer.cambodia.tables import MappingTableError

PACKAGE_DATA = ("transformer", "mappings/ona")

DISABILITY = "ona-disability-type-map.json"
PROTECTION_CONCERNS = "ona-protection-concerns-map.json"
SERVICE_TYPE = "ona-service-type-map.json"
SEX = "ona-sex-map.json"
COLUMNS = "ona-columns.json"


class _StringMap(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: dict[str, str]


class _Columns(BaseModel):
    model_config = ConfigDict(extra="allow")
    cases: dict[str, Any]
    services: dict[str, Any]


@dataclass(frozen=True)
class OnaTables:
    """Every lookup flow O1 uses, read-only; `version` stamps each command."""

    disability: Mapping[str, str]
    protection_concerns: Mapping[str, str]
    service_type: Mapping[str, str]
    sex: Mapping[str, str]
    version: str


def load_ona_tables(mapping_dir: Path | None = None) -> OnaTables:
    """Read the packaged tables; a file of the same name in `mapping_dir` replaces its table."""
    packaged = files(PACKAGE_DATA[0]).joinpath(PACKAGE_DATA[1])
    raw: dict[str, bytes] = {}
    for name in (DISABILITY, PROTECTION_CONCERNS, SERVICE_TYPE, SEX, COLUMNS):
        override = mapping_dir / name if mapping_dir is not None else None
        source: Any = override if override is not None and override.is_file() else None
        source = source or packaged.joinpath(name)
        try:
            raw[name] = source.read_bytes()
        except OSError as exc:
            raise MappingTableError(f"mapping file {name} cannot be read: {exc}") from exc
    _parse(COLUMNS, raw[COLUMNS], _Columns)
    return OnaTables(
        disability=_map(DISABILITY, raw),
        protection_concerns=_map(PROTECTION_CONCERNS, raw),
        service_type=_map(SERVICE_TYPE, raw),
        sex=_map(SEX, raw),
        version=_version(raw),
    )


@cache
def packaged_ona_tables() -> OnaTables:
    """The packaged tables, read once per process."""
    return load_ona_tables()


def _map(name: str, raw: Mapping[str, bytes]) -> Mapping[str, str]:
    return MappingProxyType(dict(_parse(name, raw[name], _StringMap).data))


def _parse(name: str, data: bytes, model: type[BaseModel]) -> Any:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MappingTableError(f"mapping file {name} is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MappingTableError(f"mapping file {name} is malformed: {exc}") from exc


def _version(raw: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(raw[name])
        digest.update(b"\0")
    return f"ona-{digest.hexdigest()[:12]}"
