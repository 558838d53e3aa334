"""The ONA lookup tables (`ona-*.json`, verbatim from the reference), validated at start-up.

The option ids are legacy Primero ids whose labels were re-purposed in the Cambodia
configuration (MAPPINGS C.6): the tables are kept verbatim, however odd a pair looks.
`ona-columns.json` documents the column rules; it is shipped and included in the version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from transformer.table_files import (
    StringMap,
    TableModel,
    frozen,
    parse_table,
    read_table_files,
    tables_version,
)

PACKAGE_DATA = ("transformer", "mappings/ona")

DISABILITY = "ona-disability-type-map.json"
PROTECTION_CONCERNS = "ona-protection-concerns-map.json"
SERVICE_TYPE = "ona-service-type-map.json"
SEX = "ona-sex-map.json"
COLUMNS = "ona-columns.json"


class _Columns(TableModel):
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
    raw = read_table_files("ona", mapping_dir, override_glob="ona-*.json")
    parse_table(COLUMNS, raw, _Columns)
    return OnaTables(
        disability=_map(DISABILITY, raw),
        protection_concerns=_map(PROTECTION_CONCERNS, raw),
        service_type=_map(SERVICE_TYPE, raw),
        sex=_map(SEX, raw),
        version=tables_version("ona", raw),
    )


@cache
def packaged_ona_tables() -> OnaTables:
    """The packaged tables, read once per process."""
    return load_ona_tables()


def _map(name: str, raw: Mapping[str, bytes]) -> Mapping[str, str]:
    return frozen(parse_table(name, raw, StringMap).data)
