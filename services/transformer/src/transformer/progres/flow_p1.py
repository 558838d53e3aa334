"""P1: a DTP referral (`PrimeroOutgoingReferral`) -> Primero case upserts and DTP feedback.

Per intervention (MAPPINGS B.1), in the old job's order: the service type must be one of the
accepted types, then the required fields must be there, then the values must be usable. An
intervention that fails becomes a `progres` `feedback` command, "Delivery Fail" with the closure
reason classified from the gap's text (`progres-error-classification.json`), so DTP learns about
it and re-sends. Accepted interventions are grouped per child (`individuals.progres_id`): one
`primero` `progres_case_upsert` per child, keyed by `unhcr_individual_no`, with one service row per
intervention. The loader sends the "Pending Acknowledgement" feedback after the upsert, when the
Primero case id and owner are known.

Each service row carries `unique_id` = uuid5 of its `progres_interventionnumber`, so the same
intervention sent twice updates its row instead of appending a second one.

Every field taken from DTP is sent, `null` when DTP leaves it empty, null or out (MAPPINGS B.1,
"absent -> null"): UNHCR's registration data is the reference, and Primero's PATCH overwrites a
present key, null included, so a value cleared in proGres is cleared in Primero too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from casebridge.ids import deterministic_id
from casebridge.messages import RawRecord, UpsertCommand
from casebridge.source_dates import parse_date
from transformer.mapping_gap import MappingGap
from transformer.progres.tables import ProgresTables
from transformer.shapes import P1Intervention, violations

PRODUCER = "transformer"
SERVICE = "interventiontype.progres_description"
REQUIRED = (
    SERVICE,
    "individuals.progres_id",
    "individuals.progres_registrationgroupid",
    "individuals.progres_givenname",
    "individuals.progres_familyname",
    "individuals.progres_dateofbirth",
    "individuals.progres_sex",
)


def service_unique_id(intervention_number: str) -> str:
    """The Primero service row id of a proGres intervention (a lowercase UUID)."""
    return deterministic_id("progres-intervention", intervention_number)


def map_p1(raw: RawRecord, tables: ProgresTables) -> list[UpsertCommand]:
    """Commands for one DTP referral webhook: case upserts per child, failures as feedback."""
    interventions = raw.payload.get("interventions")
    if not isinstance(interventions, list) or not interventions:
        raise MappingGap("DTP referral without interventions")
    as_of = raw.produced_at.date()
    children: dict[str, dict[str, Any]] = {}
    commands: list[UpsertCommand] = []
    for index, item in enumerate(interventions):
        if not isinstance(item, dict) or not item.get("progres_interventionnumber"):
            raise MappingGap(f"intervention #{index} has no progres_interventionnumber")
        number = str(item["progres_interventionnumber"])
        reason = _rejection(item, number, tables)
        if reason is not None:
            commands.append(_delivery_fail(raw, item, number, reason, tables))
            continue
        case = _case(item, tables, as_of)
        row = _row(item, tables)
        child = children.setdefault(case["unhcr_individual_no"], {})
        rows = [r for r in child.get("services_section", []) if r["unique_id"] != row["unique_id"]]
        child.update(case)
        child["services_section"] = [*rows, row]
    for individual, data in children.items():
        commands.append(
            UpsertCommand.caused_by(
                raw,
                target="primero",
                operation="progres_case_upsert",
                key={"unhcr_individual_no": individual},
                payload={"data": data},
                producer=PRODUCER,
                mapping_version=tables.version,
            )
        )
    return commands


def _rejection(item: dict[str, Any], number: str, tables: ProgresTables) -> str | None:
    """The reason an intervention cannot go to Primero, in the words the classifier reads."""
    try:
        P1Intervention.model_validate(item)
    except ValidationError as exc:
        # Wrong types are invalid data, as for the old job (which crashed on them).
        return f"invalid data (TypeError) in intervention {number}: {violations(exc)}"
    service = item.get(SERVICE)
    if service not in tables.services_to_primero:
        return (
            f"Service value shared ({service}) with progres_interventionnumber '{number}' is not"
            " an accepted UNICEF service type. Please see the mapping specifications."
        )
    missing = [name for name in REQUIRED if item.get(name) in (None, "")]
    if missing:
        return (
            f"Intervention referral {number} is missing fields required for sending to Primero:"
            f" {', '.join(missing)}"
        )
    invalid = []
    if _birth_date(item["individuals.progres_dateofbirth"]) is None:
        invalid.append("individuals.progres_dateofbirth")
    if str(item["individuals.progres_sex"]) not in tables.sex_to_primero:
        invalid.append("individuals.progres_sex")
    if not _name(item["individuals.progres_registrationgroupid"]):
        invalid.append("individuals.progres_registrationgroupid")
    if invalid:
        # "TypeError" is what the old job crashed with on unusable values; the classifier's
        # rule for invalid data matches on it.
        return f"invalid data (TypeError) in intervention {number}: {', '.join(invalid)}"
    return None


def _delivery_fail(
    raw: RawRecord, item: dict[str, Any], number: str, reason: str, tables: ProgresTables
) -> UpsertCommand:
    closure = tables.closure_reason(reason)
    if closure is None:
        raise MappingGap(f"no closure reason classifies the rejection of intervention {number}")
    body: dict[str, Any] = {}
    if item.get("progres_primeroid"):
        body["case_id"] = str(item["progres_primeroid"])
    body.update(
        {
            "progres_interventionnumber": number,
            "status": "Delivery Fail",
            "closure_reason": closure,
            "request_type": "Feedback",
        }
    )
    return UpsertCommand.caused_by(
        raw,
        target="progres",
        operation="feedback",
        key={"progres_interventionnumber": number},
        payload={"body": body, "reason": reason},
        producer=PRODUCER,
        mapping_version=tables.version,
    )


def _case(item: dict[str, Any], tables: ProgresTables, as_of: date) -> dict[str, Any]:
    born = _birth_date(item["individuals.progres_dateofbirth"])
    assert born is not None  # checked by _rejection
    case: dict[str, Any] = {
        "unhcr_individual_no": str(item["individuals.progres_id"]),
        "unhcr_id_no": _name(item["individuals.progres_registrationgroupid"]),
        "name_first": _given(item, "individuals.progres_givenname"),
        "name_middle": _given(item, "individuals.progres_middlename"),
        "name_last": _given(item, "individuals.progres_familyname"),
        "name_nickname": _given(item, "individuals.progres_commonyusedname"),  # sic
        "date_of_birth": born.isoformat(),
        "age": _completed_years(born, as_of),
        "sex": tables.sex_to_primero[str(item["individuals.progres_sex"])],
        "telephone_current": _given(item, "individuals.progres_primaryphonenumber"),
        "address_current": _address(item),
        "language": _language(item, tables),
        "status": "open",
        "owned_by": tables.intake_owner,
        "module_id": tables.module_id,
    }
    if item.get("progres_primeroid"):
        case["case_id"] = str(item["progres_primeroid"])
    return case


def _row(item: dict[str, Any], tables: ProgresTables) -> dict[str, Any]:
    number = str(item["progres_interventionnumber"])
    notes = ",".join(
        str(item[k])
        for k in ("progres_interventiondescription", "progres_reasonforreferral")
        if item.get(k)
    )
    row: dict[str, Any] = {
        "unique_id": service_unique_id(number),
        "service_response_day_time": _given(item, "progres_interventionstartdate"),
        "service_request_external": True,
        "service_request_title": _given(item, "user.title"),
        "service_request_agency": _name(item.get("user.progres_partner"))
        or tables.default_request_agency,
        "service_request_phone": _given(item, "user.mobilephone"),
        "service_request_email": _given(item, "user.internalemailaddress"),
        "service_referral_notes": notes.replace("</p>", " ").replace("<p>", " "),
        "service_type": tables.services_to_primero[str(item[SERVICE])],
        "service_implementing_agency": "UNICEF",
        "service_response_type": "service_provision",
        "service_referral": "external_referral",
        "unhcr_referral_status": "pending",
        "progres_interventionnumber": number,
    }
    return row


def _given(item: dict[str, Any], key: str) -> Any:
    """DTP's value, or None (sent as null, which clears Primero's) when it is empty or absent."""
    value = item.get(key)
    return None if value == "" else value


def _name(value: Any) -> str | None:
    """A Dynamics EntityReference's `Name` (or a plain string)."""
    if isinstance(value, dict):
        name = value.get("Name")
        return str(name) if name not in (None, "") else None
    return str(value) if value not in (None, "") else None


def _birth_date(value: Any) -> date | None:
    return parse_date(value)


def _completed_years(born: date, as_of: date) -> int:
    years = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    return max(years, 0)


def _address(item: dict[str, Any]) -> str:
    levels = [
        _name(item.get(f"individuals.progres_coalocationlevel{n}")) or "" for n in range(1, 6)
    ]
    level6 = item.get("individuals.progres_coalocationlevel6")
    levels.append(str(level6) if level6 not in (None, "") else "")
    return " ".join(levels)


def _language(item: dict[str, Any], tables: ProgresTables) -> list[str] | None:
    name = _name(item.get("languages.progres_languagecodeid"))
    if name is None:
        return None
    return [tables.languages_to_primero.get(name, "language6")]
