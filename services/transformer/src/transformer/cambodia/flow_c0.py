"""Flow C0, OSCaR ids -> Primero: the OSCaR ids of a client linked to a Primero case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from casebridge.skips import Skipped, SkipReason
from transformer.cambodia.commands import CommandMaker
from transformer.cambodia.tables import CambodiaTables
from transformer.mapping_gap import MappingGap

#: Primero field <- OSCaR field, copied when OSCaR sends the field at all ('' included).
_PASSED_THROUGH = (("oscar_short_id", "slug"), ("mosvy_number", "mosvy_number"))


def map_c0(raw: RawRecord, tables: CambodiaTables) -> Sequence[UpsertCommand]:
    """A `case_update` for a client OSCaR already links to a Primero case; `Skipped` otherwise.

    OSCaR refuses a second referral unless it carries the global id, so Primero must hold it
    before Flow 1 runs. Unlinked clients are Flow 2's business (which may create cases); this
    flow only updates cases that exist, hence `case_update`, not `case_upsert`.
    """
    client = raw.payload
    case_id = client.get("external_id")
    if not case_id:
        return Skipped(
            SkipReason.NOT_APPLICABLE,
            f"OSCaR client {raw.source.record_id} is not linked to a Primero case (no external_id)",
        )
    global_id = client.get("global_id")
    if not global_id:
        raise MappingGap(f"OSCaR client linked to case {case_id} has no global_id")
    data: dict[str, Any] = {"case_id": case_id}
    if client.get("external_id_display"):
        data["case_id_display"] = client["external_id_display"]
    data["oscar_number"] = global_id
    data |= {target: client[source] for target, source in _PASSED_THROUGH if source in client}
    make = CommandMaker(raw, tables)
    return [make("primero", "case_update", {"case_id": str(case_id)}, {"data": data})]
