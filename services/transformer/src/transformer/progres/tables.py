"""The proGres (Gambella) lookup tables, validated once at start-up (package data or MAPPING_DIR).

Same rules as the Cambodia tables: a missing, non-JSON or wrongly shaped file stops start-up with
its name; a `MAPPING_DIR` file named `progres-*.json` replaces the packaged one; `version`
(`progres-<12 hex>`) is a hash of every file and stamps each command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from transformer.table_files import (
    SensitiveFields,
    StringMap,
    TableModel,
    frozen,
    parse_table,
    read_table_files,
    tables_version,
)

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


class _Sex(TableModel):
    progres_to_primero: StringMap
    primero_to_progres: StringMap


class _Review(TableModel):
    progres_reviewdecision: StringMap
    progres_interoperabiltyreferralrejectionreason: StringMap


class _Rule(TableModel):
    contains: str
    closure_reason: str


class _Errors(TableModel):
    rules_in_order: list[_Rule]


class _Contact(TableModel):
    position: str
    email: str
    phone: str
    full_name: str


class _Constants(TableModel):
    intake_owner: str
    module_id: str
    default_request_agency: str
    referral_agency: str
    contact_fallback: _Contact
    default_language: str
    default_referral_notes: str
    default_closure_reason: str


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
    raw = read_table_files("progres", mapping_dir, override_glob="progres-*.json")
    sex = parse_table(SEX, raw, _Sex)
    review = parse_table(REVIEW_CODES, raw, _Review)
    constants = parse_table(CONSTANTS, raw, _Constants)
    return ProgresTables(
        services_to_primero=frozen(parse_table(SERVICES_TO_PRIMERO, raw, StringMap).data),
        services_to_progres=frozen(parse_table(SERVICES_TO_PROGRES, raw, StringMap).data),
        languages_to_primero=frozen(parse_table(LANGUAGES_TO_PRIMERO, raw, StringMap).data),
        languages_to_progres=frozen(parse_table(LANGUAGES_TO_PROGRES, raw, StringMap).data),
        sex_to_primero=frozen(sex.progres_to_primero.data),
        sex_to_progres=frozen(sex.primero_to_progres.data),
        review_decisions=frozen(review.progres_reviewdecision.data),
        rejection_reasons=frozen(review.progres_interoperabiltyreferralrejectionreason.data),
        decision_status=frozen(parse_table(DECISION_STATUS, raw, StringMap).data),
        error_rules=tuple(
            ErrorRule(r.contains, r.closure_reason)
            for r in parse_table(ERRORS, raw, _Errors).rules_in_order
        ),
        intake_owner=constants.intake_owner,
        module_id=constants.module_id,
        default_request_agency=constants.default_request_agency,
        referral_agency=constants.referral_agency,
        contact_fallback=frozen(constants.contact_fallback.model_dump()),
        default_language=constants.default_language,
        default_referral_notes=constants.default_referral_notes,
        default_closure_reason=constants.default_closure_reason,
        sensitive_fields=frozenset(parse_table(SENSITIVE, raw, SensitiveFields).fields),
        version=tables_version("progres", raw),
    )
