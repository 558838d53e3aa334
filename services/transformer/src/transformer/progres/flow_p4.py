"""P4: DTP's decision on a Primero referral (`PrimeroIncomingReferralDecision`) -> Primero.

`progres_orgreferralid` echoes the id P3 sent, `<case_id>#<last 12 of the service unique_id>`.
Decisions are grouped per case: one `primero` `progres_referral_decision` per `case_id`, each
decision carrying the 12-char suffix and the referral PATCH body; the loader finds the case, its
referral whose `service_record_id` ends with the suffix, and PATCHes it (MAPPINGS B.4).

The misspelt source keys are read verbatim: `progres_interoperabiltyreferralrejectionreason`
and `progres_interoperabilityreferralrejectionomment` (the correctly spelt `…rejectioncomment`
of one sample is read when the misspelt key is absent).
"""

from __future__ import annotations

from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from transformer.mapping_gap import MappingGap
from transformer.progres.tables import ProgresTables

PRODUCER = "transformer"
REASON = "progres_interoperabiltyreferralrejectionreason"  # sic
COMMENT = "progres_interoperabilityreferralrejectionomment"  # sic
COMMENT_SPELT = "progres_interoperabilityreferralrejectioncomment"
SUFFIX_LENGTH = 12


def map_p4(raw: RawRecord, tables: ProgresTables) -> list[UpsertCommand]:
    """One referral-decision command per Primero case named in the webhook."""
    interventions = raw.payload.get("interventions")
    if not isinstance(interventions, list) or not interventions:
        raise MappingGap("DTP decision without interventions")
    by_case: dict[str, list[dict[str, Any]]] = {}
    gaps: list[str] = []
    for index, item in enumerate(interventions):
        if not isinstance(item, dict):
            gaps.append(f"intervention #{index} is not an object")
            continue
        decision = _decision(item, tables, gaps)
        if decision is not None:
            case_id, entry = decision
            by_case.setdefault(case_id, []).append(entry)
    if gaps:
        raise MappingGap("; ".join(gaps))
    return [
        UpsertCommand.caused_by(
            raw,
            target="primero",
            operation="progres_referral_decision",
            key={"case_id": case_id},
            payload={"decisions": decisions},
            producer=PRODUCER,
            mapping_version=tables.version,
        )
        for case_id, decisions in by_case.items()
    ]


def _decision(
    item: dict[str, Any], tables: ProgresTables, gaps: list[str]
) -> tuple[str, dict[str, Any]] | None:
    reference = str(item.get("progres_orgreferralid") or "")
    number = str(item.get("progres_interoperabilityreferralnumber") or reference)
    case_id, sep, suffix = reference.partition("#")
    if not sep or not case_id or len(suffix) != SUFFIX_LENGTH:
        gaps.append(
            f"progres_orgreferralid {reference[:80]!r} of {number} is not"
            " '<case_id>#<12 chars of the service id>'"
        )
        return None
    code = str(item.get("progres_reviewdecision") or "")
    status = tables.review_decisions.get(code)
    if status is None:
        gaps.append(f"progres_reviewdecision {code!r} of {number} is not in the decision table")
        return None
    data: dict[str, Any] = {"status": status, "type": "Referral", "record_type": "case"}
    reason_code = item.get(REASON)
    if reason_code not in (None, ""):
        reason = tables.rejection_reasons.get(str(reason_code), str(reason_code))
        comment = item.get(COMMENT, item.get(COMMENT_SPELT))
        data["rejected_reason"] = f"{reason}: {comment}" if comment not in (None, "") else reason
    return case_id, {
        "service_suffix": suffix,
        "progres_interoperabilityreferralnumber": number,
        "data": data,
    }
