"""P2: UNICEF's decision on a proGres referral -> DTP `ReceiveDecisionOutgoingReferral`.

Selection (intended behaviour, MAPPINGS B.2): every service row of the case that came from
proGres — it carries a `progres_interventionnumber`, the only key DTP can match — with
`service_referral == external_referral` and `unhcr_referral_status` accepted or rejected. The old
case-level filter `service_request_agency == 'UNHCR'` is not used: P1 writes the partner's name
there (`user.progres_partner.Name`), so referrals from UNHCR partners were never answered.

One `progres` `decision` command per row, keyed by (`progres_interventionnumber`, `status`): the
loader sends each key once, so a decision is not re-sent on every touch of the case, and a changed
decision (a new status) is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from casebridge.skips import Skipped, SkipReason
from transformer.mapping_gap import MappingGap
from transformer.progres.tables import ProgresTables

PRODUCER = "transformer"


def map_p2(raw: RawRecord, tables: ProgresTables) -> Sequence[UpsertCommand]:
    """Decision commands for one Primero case; `Skipped` when it has no decided proGres row."""
    case = raw.payload
    commands = []
    for row in case.get("services_section") or []:
        if not isinstance(row, dict) or not _decided(row, tables):
            continue
        case_id = case.get("case_id")
        if not case_id:
            raise MappingGap(f"Primero case {case.get('id')} has a proGres decision but no case_id")
        status = tables.decision_status[str(row["unhcr_referral_status"])]
        number = str(row["progres_interventionnumber"])
        body: dict[str, Any] = {
            "case_id": str(case_id),
            "primero_user": case.get("owned_by"),
            "progres_interventionnumber": number,
            "status": status,
            "closure_reason": row.get("unhcr_referral_rejection_reason")
            or tables.default_closure_reason,
            "request_type": "ReceiveDecisionOutgoingReferral",
        }
        commands.append(
            UpsertCommand.caused_by(
                raw,
                target="progres",
                operation="decision",
                key={"progres_interventionnumber": number, "status": status},
                payload={"body": body},
                producer=PRODUCER,
                mapping_version=tables.version,
            )
        )
    if not commands:
        return Skipped(
            SkipReason.NOT_APPLICABLE,
            f"Primero case {raw.source.record_id} has no accepted or rejected external referral"
            " with a progres_interventionnumber",
        )
    return commands


def _decided(row: dict[str, Any], tables: ProgresTables) -> bool:
    return (
        bool(row.get("progres_interventionnumber"))
        and row.get("service_referral") == "external_referral"
        and row.get("unhcr_referral_status") in tables.decision_status
    )
