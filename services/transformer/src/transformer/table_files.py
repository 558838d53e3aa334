"""Mapping table files: packaged data, replaced by same-named files in MAPPING_DIR.

Every flow family (cambodia, progres, ona) reads, parses, freezes and versions its tables the
same way; only the table models differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V")


class MappingTableError(ValueError):
    """A mapping file is missing, not JSON, or not shaped as its table requires."""


class TableModel(BaseModel):
    """Base of table models: documentation keys beside the data are allowed."""

    model_config = ConfigDict(extra="allow")


class StringMap(TableModel):
    """A plain code -> code table."""

    data: dict[str, str]


class SensitiveFields(TableModel):
    """Field names that must never reach a log."""

    fields: list[str]


def read_table_files(
    package_subdir: str, mapping_dir: Path | None, *, override_glob: str
) -> dict[str, bytes]:
    """Bytes of every packaged `*.json` under `mappings/<package_subdir>`, with overrides."""
    packaged = files("transformer").joinpath("mappings").joinpath(package_subdir)
    sources: dict[str, Traversable] = {
        entry.name: entry for entry in packaged.iterdir() if entry.name.endswith(".json")
    }
    if mapping_dir is not None:
        if not mapping_dir.is_dir():
            raise MappingTableError(f"MAPPING_DIR {mapping_dir} is not a directory")
        for path in sorted(mapping_dir.glob(override_glob)):
            sources[path.name] = path
    raw: dict[str, bytes] = {}
    for name, source in sources.items():
        try:
            raw[name] = source.read_bytes()
        except OSError as exc:
            raise MappingTableError(f"mapping file {name} cannot be read: {exc}") from exc
    return raw


def parse_table(name: str, raw: Mapping[str, bytes], model: type[T]) -> T:
    """Validate one table file into its model; every failure is a `MappingTableError`."""
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


def frozen(values: Mapping[str, V]) -> Mapping[str, V]:
    """A read-only copy, so loaded tables cannot drift while the service runs."""
    return MappingProxyType(dict(values))


def tables_version(prefix: str, raw: Mapping[str, bytes]) -> str:
    """`<prefix>-<12 hex>` over every file name and content: stamps each command."""
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode() + b"\0" + raw[name] + b"\0")
    return f"{prefix}-{digest.hexdigest()[:12]}"
