"""What the targets must end up holding, mapped here from the same generated Primero data.

The Primero simulator (`--profile cambodia --seed S --cases N`) generates the cases; mapping them
in this process with the transformer's own mappings gives, per flow:

- C1: one OSCaR `client_upsert` per (case, referral), keyed by the referred service's uuid (the
  key OSCaR's journal shows as `organization.services[0].uuid`), and the OSCaR clients to seed so
  that the decisions and links those cases carry are writes OSCaR accepts;
- O1: one ONA `cases` row per case the two O1 queries select (`record_state` true, and the
  reintegration case type or an age of 0..18), keyed by `case_id_display`.

Cases whose mapping has a gap are dead-lettered by the transformer with their reason: they are
expected dead letters (a true reason), not losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casebridge.errors import PermanentError
from casebridge.messages import RawRecord, SourceRef
from oscar_sim.seeds import client_seeds
from primero_sim.generate import generate
from transformer.cambodia import load_tables, map_c1
from transformer.mapping_gap import PartlyMapped
from transformer.ona.flow_o1 import map_o1
from transformer.ona.tables import load_ona_tables

REINTEGRATION = "children_undergoing_reintegration_55427"


@dataclass
class Expected:
    """The effects each flow must produce, and which source case produces each."""

    #: C1: service uuid -> Primero case id.
    c1: dict[str, str] = field(default_factory=dict)
    #: O1: ONA case_id (case_id_display) -> Primero case id.
    o1: dict[str, str] = field(default_factory=dict)
    #: Primero case ids whose C1 mapping has a gap (dead-lettered by the transformer).
    c1_gaps: set[str] = field(default_factory=set)
    o1_gaps: set[str] = field(default_factory=set)
    oscar_seed: list[dict[str, Any]] = field(default_factory=list)
    commands: int = 0


def _o1_selected(case: dict[str, Any]) -> bool:
    if case.get("record_state") is False:
        return False
    age = case.get("age")
    young = isinstance(age, int) and 0 <= age <= 18
    return young or case.get("type_of_case") == REINTEGRATION


def expected_effects(cases: int, seed: int) -> Expected:
    """Map the generated data of `cases` cases with `seed` as the transformer would."""
    data = generate(cases, seed=seed, profile="cambodia")
    tables, ona_tables = load_tables(), load_ona_tables()
    referrals: dict[str, list[dict[str, Any]]] = {}
    for referral in data.referrals:
        referrals.setdefault(str(referral["record_id"]), []).append(referral)
    out = Expected()
    clients: dict[tuple[str, str], dict[str, Any]] = {}
    for case in data.cases:
        case_id = str(case["id"])
        source = SourceRef(system="primero", record_type="case", record_id=case_id)
        payload = {**case, "referrals": referrals.get(case_id, [])}
        raw = RawRecord.of(flow="c1", source=source, payload=payload, producer="chaos")
        try:
            commands = map_c1(raw, tables)
        except PartlyMapped as gap:  # the mapped parts are sent, the rest dead-lettered
            out.c1_gaps.add(case_id)
            commands = list(gap.commands)
        except PermanentError:
            out.c1_gaps.add(case_id)
            commands = []
        out.commands += len(commands)
        for command in commands:
            if command.operation == "client_upsert":
                out.c1[str(command.key["service_uuid"])] = case_id
                organization = command.payload["organization"]
                if organization.get("global_id"):
                    key = (organization["global_id"], organization["organization_name"])
                    clients.setdefault(key, organization)
            elif command.operation == "update_statuses":
                for decision in command.payload["data"]:
                    key = (decision["client_global_id"], "cif")
                    client = clients.setdefault(key, {})
                    client.setdefault("_referrals", []).append(decision["referral_id"])
        if _o1_selected(case):
            o1_raw = RawRecord.of(flow="o1", source=source, payload=case, producer="chaos")
            try:
                for command in map_o1(o1_raw, ona_tables):
                    out.o1[str(command.key["case_id"])] = case_id
            except PermanentError:
                out.o1_gaps.add(case_id)
    out.oscar_seed = client_seeds(clients)
    return out
