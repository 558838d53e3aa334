"""The proGres (Gambella) lookup tables, validated once at start-up (package data or MAPPING_DIR).

Same rules as the Cambodia tables: a missing, non-JSON or wrongly shaped file stops start-up with
its name; a `MAPPING_DIR` file named `progres-*.json` replaces the packaged one; `version`
(`progres-<12 hex>`) is a hash of every file and stamps each command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from transformer.cambodia.tables import MappingTableError

PACKAGE_DATA = ("transformer", "mappings/progres")

SERVICES_TO_PRIMERO = "progres-service-map-progres-to-primero.json"
SERVICES_TO_PROGRES = "progres-service-map-primero-to-progres.json"
LANGUAGES_TO_PRIMERO = "progres-language-map-progres-to-primero.json"
LANGUAGES_TO_PROGRES = "progres-language-map-primero-to-progres.json"
SEX = "progres-sex-map.json"
REVIEW_CODES = "progres-review-decision-codes.json"
DECISION_STATUS = "progres-primero-decision-to-dtp-status.json"
ERRORS = "progres-error-classification.json"
CONSTANTS = "progres-constants.json"
SENSITIVE = "progres-sensitive-fields.json"

T = TypeVar("T", bound="_Table")


class _Table(BaseModel):
    model_config = ConfigDict(extra="allow")


class _StringMap(_Table):
    data: dict[str, str]


class _Sex(_Table):
    progres_to_primero: _StringMap
    primero_to_progres: _StringMap


class _Review(_Table):
    progres_reviewdecision: _StringMap
    progres_interoperabiltyreferralrejectionreason: _StringMap


class _Rule(_Table):
    contains: str
    closure_reason: str


class _Errors(_Table):
    rules_in_order: list[_Rule]


class _Contact(_Table):
    position: str
    email: str
    phone: str
    full_name: str


class _Constants(_Table):
    intake_owner: str
    module_id: str
    default_request_agency: str
    referral_agency: str
    contact_fallback: _Contact
    default_language: str
    default_referral_notes: str
    default_closure_reason: str


class _Sensitive(_Table):
    fields: list[str]


@dataclass(frozen=True)
class ErrorRule:
    """A substring of a rejection reason and the closure reason DTP gets for it."""

    contains: str
    closure_reason: str


@dataclass(frozen=True)
class ProgresTables:
    """Every lookup the P1-P4 flows use, read-only."""

    services_to_primero: Mapping[str, str]
    services_to_progres: Mapping[str, str]
    languages_to_primero: Mapping[str, str]
    languages_to_progres: Mapping[str, str]
    sex_to_primero: Mapping[str, str]
    sex_to_progres: Mapping[str, str]
    review_decisions: Mapping[str, str]
    rejection_reasons: Mapping[str, str]
    decision_status: Mapping[str, str]
    error_rules: tuple[ErrorRule, ...]
    intake_owner: str
    module_id: str
    default_request_agency: str
    referral_agency: str
    contact_fallback: Mapping[str, str]
    default_language: str
    default_referral_notes: str
    default_closure_reason: str
    sensitive_fields: frozenset[str]
    version: str

    def closure_reason(self, reason: str) -> str | None:
        """The classified closure reason of a rejection text; the last matching rule wins
        (MAPPINGS B.1 step 6); None when no rule matches."""
        found = None
        for rule in self.error_rules:
            if rule.contains in reason:
                found = rule.closure_reason
        return found


def load_progres_tables(mapping_dir: Path | None = None) -> ProgresTables:
    """Read the packaged tables; a `progres-*.json` file in `mapping_dir` replaces its table."""
    raw = {name: _read(name, source) for name, source in _sources(mapping_dir).items()}
    sex = _parse(SEX, raw, _Sex)
    review = _parse(REVIEW_CODES, raw, _Review)
    constants = _parse(CONSTANTS, raw, _Constants)
    return ProgresTables(
        services_to_primero=_frozen(_parse(SERVICES_TO_PRIMERO, raw, _StringMap).data),
        services_to_progres=_frozen(_parse(SERVICES_TO_PROGRES, raw, _StringMap).data),
        languages_to_primero=_frozen(_parse(LANGUAGES_TO_PRIMERO, raw, _StringMap).data),
        languages_to_progres=_frozen(_parse(LANGUAGES_TO_PROGRES, raw, _StringMap).data),
        sex_to_primero=_frozen(sex.progres_to_primero.data),
        sex_to_progres=_frozen(sex.primero_to_progres.data),
        review_decisions=_frozen(review.progres_reviewdecision.data),
        rejection_reasons=_frozen(review.progres_interoperabiltyreferralrejectionreason.data),
        decision_status=_frozen(_parse(DECISION_STATUS, raw, _StringMap).data),
        error_rules=tuple(
            ErrorRule(r.contains, r.closure_reason)
            for r in _parse(ERRORS, raw, _Errors).rules_in_order
        ),
        intake_owner=constants.intake_owner,
        module_id=constants.module_id,
        default_request_agency=constants.default_request_agency,
        referral_agency=constants.referral_agency,
        contact_fallback=_frozen(constants.contact_fallback.model_dump()),
        default_language=constants.default_language,
        default_referral_notes=constants.default_referral_notes,
        default_closure_reason=constants.default_closure_reason,
        sensitive_fields=frozenset(_parse(SENSITIVE, raw, _Sensitive).fields),
        version=_version(raw),
    )


def _sources(mapping_dir: Path | None) -> dict[str, Traversable]:
    packaged = files(PACKAGE_DATA[0]).joinpath(PACKAGE_DATA[1])
    sources: dict[str, Traversable] = {
        entry.name: entry for entry in packaged.iterdir() if entry.name.endswith(".json")
    }
    if mapping_dir is not None:
        if not mapping_dir.is_dir():
            raise MappingTableError(f"MAPPING_DIR {mapping_dir} is not a directory")
        for path in sorted(mapping_dir.glob("progres-*.json")):
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


def _frozen(values: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(values))


def _version(raw: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode() + b"\0" + raw[name] + b"\0")
    return f"progres-{digest.hexdigest()[:12]}"
