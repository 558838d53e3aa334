"""The demo data's one consistency rule: OSCaR knows the organisations and children that
Primero's cases name.

Generated Primero cases carry OSCaR ids and agencies that no OSCaR holds, and the simulator
answers an upsert naming them the way OSCaR does (500, a crash, retried until the attempts run
out): a real deployment's data does not look like that, so OSCaR gets a tenant per organisation
C1 writes to and one client per OSCaR id and organisation, plus the OSCaR referrals Primero
decided on. They are found by running the C1 mapping itself over what Primero holds, so the two
stay consistent whatever the generator produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casebridge.errors import PermanentError
from casebridge.messages import RawRecord, SourceRef
from primero_sim.state import SimState
from transformer.cambodia import CambodiaTables, map_c1
from transformer.mapping_gap import PartlyMapped

#: Where OSCaR referrals that Primero decided on live (the NGO of the reference samples).
DECIDING_NGO = "cif"


@dataclass(frozen=True)
class OscarSeed:
    """What OSCaR must know: organisations (tenants) and clients (feed-shaped items)."""

    organisations: frozenset[str]
    clients: list[dict[str, Any]]


def oscar_seed_for(primero: SimState, tables: CambodiaTables) -> OscarSeed:
    """Every organisation C1 writes to, and a client per (OSCaR id, organisation) it names."""
    organisations: set[str] = set()
    clients: dict[tuple[str, str], dict[str, Any]] = {}
    for case in list(primero.store.records()):
        referrals = list(primero.store.referrals.get(str(case["id"]), []))
        source = SourceRef(system="primero", record_type="case", record_id=str(case["id"]))
        raw = RawRecord.of(
            flow="c1", source=source, payload={**case, "referrals": referrals}, producer="demo"
        )
        try:
            commands = map_c1(raw, tables)
        except PartlyMapped as gap:  # its mapped parts are sent, the rest dead-lettered
            commands = list(gap.commands)
        except PermanentError:
            continue  # a mapping gap: dead-lettered in the run, nothing for OSCaR to know
        for command in commands:
            if command.operation == "client_upsert":
                organization = command.payload["organization"]
                organisations.add(str(organization["organization_name"]))
                if organization.get("global_id"):
                    key = (str(organization["global_id"]), str(organization["organization_name"]))
                    clients.setdefault(key, {"referral_ids": []})
            elif command.operation == "update_statuses":
                for decision in command.payload["data"]:
                    key = (str(decision["client_global_id"]), DECIDING_NGO)
                    clients.setdefault(key, {"referral_ids": []})["referral_ids"].append(
                        decision["referral_id"]
                    )
    return OscarSeed(
        frozenset(organisations),
        [_client(gid, org, seen["referral_ids"]) for (gid, org), seen in clients.items()],
    )


def _client(global_id: str, organization: str, referral_ids: list[int]) -> dict[str, Any]:
    """A feed-shaped OSCaR client with placeholder (non-personal) details."""
    return {
        "global_id": global_id,
        "given_name": "Demo",
        "family_name": "Child",
        "gender": "female",
        "date_of_birth": "2015-01-01",
        "organization_name": organization,
        "status": "Active",
        "services": [
            {
                "uuid": f"00000000-0000-4000-8000-{int(referral_id):012d}",
                "name": "Generalist social work / case work",
                "referral_id": int(referral_id),
                "referral_status": "Referred",
            }
            for referral_id in referral_ids
        ],
    }
