"""In-memory OSCaR: tenants, clients, global identities and referrals, with their indexes."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from oscar_sim.blank import presence, text
from oscar_sim.catalogue import Tenant
from oscar_sim.identifiers import slug, ulid
from oscar_sim.records import Client, ProgramService, Referral
from oscar_sim.timeparse import parse_time

#: The risk level of a seeded inbound referral whose record does not give one.
SEEDED_LEVEL_OF_RISK = "medium"


class OscarStore:
    def __init__(self, tenants: Iterable[Tenant], seed: int = 0) -> None:
        self.tenants: dict[str, Tenant] = {t.name: t for t in tenants}
        self.clients: dict[int, Client] = {}
        self.referrals: dict[int, Referral] = {}
        self.global_ids: set[str] = set()
        self._clients_by_global: dict[str, list[int]] = {}
        self._inbound_by_external: dict[str, list[int]] = {}
        self._referrals_by_global: dict[str, list[int]] = {}
        self._next_client = 1
        self._next_referral = 1000
        self.rng = random.Random(seed)

    # -- identities -------------------------------------------------------------------
    def mint_global_id(self, now: datetime) -> str:
        global_id = ulid(int(now.timestamp() * 1000), self.rng)
        self.global_ids.add(global_id)
        return global_id

    # -- clients ----------------------------------------------------------------------
    def add_client(self, client: Client) -> Client:
        self.clients[client.id] = client
        self._next_client = max(self._next_client, client.id + 1)
        self.global_ids.add(client.global_id)
        self._clients_by_global.setdefault(client.global_id, []).append(client.id)
        return client

    def next_client_id(self) -> int:
        client_id = self._next_client
        self._next_client += 1
        return client_id

    def clients_with_global_id(self, global_id: str) -> list[Client]:
        return [self.clients[i] for i in self._clients_by_global.get(global_id, ())]

    def first_client(self, global_id: str) -> Client | None:
        """The client in the child's first organisation (``global_identity.organizations.first``:
        the tenant where a client with this global id was created first)."""
        ids = self._clients_by_global.get(global_id)
        return self.clients[ids[0]] if ids else None

    def client_in_tenant(self, global_id: str, tenant: str) -> Client | None:
        return next((c for c in self.clients_with_global_id(global_id) if c.tenant == tenant), None)

    # -- referrals --------------------------------------------------------------------
    def add_referral(self, referral: Referral) -> Referral:
        self.referrals[referral.id] = referral
        self._next_referral = max(self._next_referral, referral.id + 1)
        self._referrals_by_global.setdefault(referral.client_global_id, []).append(referral.id)
        if referral.direction == "inbound" and referral.external_id:
            self._inbound_by_external.setdefault(referral.external_id, []).append(referral.id)
        return referral

    def next_referral_id(self) -> int:
        referral_id = self._next_referral
        self._next_referral += 1
        return referral_id

    def inbound_by_external_id(self, external_id: str) -> list[Referral]:
        return [self.referrals[i] for i in self._inbound_by_external.get(external_id, ())]

    def referrals_for(self, global_id: str) -> list[Referral]:
        return [self.referrals[i] for i in self._referrals_by_global.get(global_id, ())]

    # -- seeding from API-shaped records ---------------------------------------------
    def ingest(self, record: Mapping[str, Any], *, now: datetime, external_system: str) -> Client:
        """Load one ``GET /clients`` item (either shape) plus optional sim-only keys:
        ``created_at``, ``updated_at`` (ISO) and ``referred_external`` (bool)."""
        tenant_name = text(record.get("organization_name")) or "cif"
        if tenant_name not in self.tenants:
            tenant_id = record.get("organization_id")
            self.tenants[tenant_name] = Tenant(
                tenant_name,
                tenant_id if isinstance(tenant_id, int) else 1000 + len(self.tenants),
                text(record.get("organization_address_code")) or "",
            )
        referred = record.get("referred_external")
        if referred is None:
            referred = "referral_consent_form" in record or "organization_id" in record
        created = _stamp(record.get("created_at"), now)
        updated = _stamp(record.get("updated_at"), created if "created_at" in record else now)
        client_id = self.next_client_id()
        global_id = text(record.get("global_id")) or self.mint_global_id(created)
        client = Client(
            id=client_id,
            slug=text(record.get("slug")) or slug(self.rng, client_id),
            global_id=global_id,
            tenant=tenant_name,
            given_name=text(record.get("given_name")),
            family_name=text(record.get("family_name")),
            local_given_name=text(record.get("local_given_name")),
            local_family_name=text(record.get("local_family_name")),
            gender=text(record.get("gender")),
            date_of_birth=text(record.get("date_of_birth")),
            location_code=text(record.get("location_current_village_code"))
            or text(record.get("address_current_village_code"))
            or "",
            status=text(record.get("status")) or "Active",
            created_at=created,
            updated_at=updated,
            external_id=text(record.get("external_id")),
            external_id_display=text(record.get("external_id_display")),
            mosvy_number=text(record.get("mosvy_number")),
            case_worker_name=record.get("case_worker_name") or "",
            case_worker_mobile=record.get("case_worker_mobile") or "",
            external_case_worker_name=text(record.get("external_case_worker_name")),
            external_case_worker_id=text(record.get("external_case_worker_id")),
            referred_external=bool(referred),
        )
        self.add_client(client)
        inbound: dict[int, Referral] = {}
        for service in record.get("services") or ():
            self._ingest_service(client, service, inbound, external_system)
        if client.referred_external:
            self.add_referral(
                Referral(
                    id=self.next_referral_id(),
                    direction="outbound",
                    client_global_id=global_id,
                    external_system=external_system,
                    tenant=tenant_name,
                    services=[],
                    referral_status=client.status,
                    created_at=created,
                    client_id=client_id,
                    level_of_risk=text(record.get("level_of_risk")),
                    reason=record.get("reason_for_referral") or "N/A",
                    consent_form=list(record.get("referral_consent_form") or ()),
                )
            )
        return client

    def _ingest_service(
        self,
        client: Client,
        service: Mapping[str, Any],
        inbound: dict[int, Referral],
        external_system: str,
    ) -> None:
        uuid, name = str(service.get("uuid", "")), str(service.get("name", ""))
        referral_id = service.get("referral_id")
        if referral_id is None:
            client.program_services.append(
                ProgramService(
                    uuid, name, service.get("program_name"), service.get("enrollment_date")
                )
            )
            return
        referral = inbound.get(int(referral_id))
        if referral is None:
            referral = self.add_referral(
                Referral(
                    id=int(referral_id),
                    direction="inbound",
                    client_global_id=client.global_id,
                    external_system=external_system,
                    tenant=client.tenant,
                    services=[],
                    referral_status=str(service.get("referral_status") or "Referred"),
                    created_at=client.created_at,
                    # Sim-only key: a seeded referral is recent (has a risk level) unless the
                    # record says otherwise; ``"level_of_risk": null`` seeds a legacy one.
                    level_of_risk=text(service["level_of_risk"])
                    if "level_of_risk" in service
                    else SEEDED_LEVEL_OF_RISK,
                    external_id=client.external_id,
                    external_id_display=client.external_id_display,
                    client_id=client.id,
                    given_name=client.given_name,
                    family_name=client.family_name,
                )
            )
            inbound[referral.id] = referral
        referral.services.append((uuid, name))


def _stamp(value: Any, default: datetime) -> datetime:
    parsed = parse_time(value) if presence(value) else None
    return parsed or default


def intake(store: OscarStore, referral_id: int, now: datetime, status: str) -> Client | None:
    """An NGO accepts an inbound referral and opens the OSCaR client for it (done by a
    person in OSCaR's UI; a control call here). Later first-referrals for the same
    ``external_id`` then get 422 "Record was found."."""
    referral = store.referrals.get(referral_id)
    if referral is None or referral.direction != "inbound":
        return None
    existing = store.client_in_tenant(referral.client_global_id, referral.tenant)
    if existing is not None:
        referral.client_id = existing.id
        return existing
    client_id = store.next_client_id()
    client = store.add_client(
        Client(
            id=client_id,
            slug=slug(store.rng, client_id),
            global_id=referral.client_global_id,
            tenant=referral.tenant,
            given_name=referral.given_name,
            family_name=referral.family_name,
            local_given_name=None,
            local_family_name=None,
            gender=referral.gender,
            date_of_birth=referral.date_of_birth,
            location_code=referral.location_code,
            status=status,
            created_at=now,
            updated_at=now,
            external_id=referral.external_id,
            external_id_display=referral.external_id_display,
            mosvy_number=referral.mosvy_number,
            external_case_worker_name=referral.name_of_referee,
        )
    )
    referral.client_id = client.id
    referral.referral_status = status
    return client
