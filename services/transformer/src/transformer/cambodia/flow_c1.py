"""Flow C1, Primero -> OSCaR: one Primero case (with its `referrals`) in, OSCaR commands out."""

from __future__ import annotations

from collections.abc import Sequence

from casebridge.messages import RawRecord, UpsertCommand
from casebridge.skips import Skipped, SkipReason
from transformer.cambodia.commands import CommandMaker
from transformer.cambodia.decisions import decision_items
from transformer.cambodia.links import link_item
from transformer.cambodia.referral_upsert import referral_upserts
from transformer.cambodia.tables import CambodiaTables
from transformer.mapping_gap import MappingGap, commands_or_gaps

OSCAR = "oscar"


def map_c1(raw: RawRecord, tables: CambodiaTables) -> Sequence[UpsertCommand]:
    """Apply the three Flow 1 selections to one case: new referrals, decisions, links.

    Each referred service, the decisions and the link are separate parts: a gap in one part
    never holds back the others. The parts that map are published and the case is
    dead-lettered with the gaps of the rest (`PartlyMapped`); replayed after a fix, it yields
    every command again under the same ids, and the loaders drop the ones already applied.
    """
    case = raw.payload
    case_ref = str(case.get("case_id") or case.get("id") or raw.source.record_id)
    gaps: list[str] = []
    if not case.get("case_id"):
        raise MappingGap(f"case {case_ref} has no case_id")
    make = CommandMaker(raw, tables)
    commands = [
        make(OSCAR, "client_upsert", upsert.key, upsert.body)
        for upsert in referral_upserts(case, case_ref, tables, gaps)
    ]
    decisions = decision_items(case, case_ref, tables, gaps)
    if decisions:
        commands.append(
            make(OSCAR, "update_statuses", {"external_id": case_ref}, {"data": decisions})
        )
    link = link_item(case)
    if link is not None:
        commands.append(
            make(OSCAR, "update_links", {"global_id": str(link["global_id"])}, {"data": [link]})
        )
    if not commands and not gaps:
        return Skipped(
            SkipReason.NOT_APPLICABLE,
            f"case {case_ref} has no in-progress referral to OSCaR, no decision on an OSCaR"
            " referral and no oscar_number to link",
        )
    return commands_or_gaps(commands, gaps)
