"""``GET /clients`` selection: who is returned, in which shape, in which order (API.md §2.3).

Set 1 (referred to the caller's external system) filters ``created_at``/``updated_at``
at full timestamp precision; set 2 (everyone else shareable) compares dates only. That
difference is the reason OpenFn rounds ``since_date`` to midnight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oscar_sim import serializers
from oscar_sim.records import Client, Referral
from oscar_sim.store import OscarStore


def select(
    store: OscarStore,
    external_system: str | None,
    since: datetime | None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    outbound: dict[str, Referral] = {}
    inbound: dict[str, list[Referral]] = {}
    for referral in store.referrals.values():
        if referral.external_system != external_system or external_system is None:
            continue
        if referral.direction == "outbound":
            latest = outbound.get(referral.client_global_id)
            if latest is None or referral.id > latest.id:
                outbound[referral.client_global_id] = referral
        else:
            inbound.setdefault(referral.client_global_id, []).append(referral)

    candidates = [
        c for c in store.clients.values() if c.is_complete() and _integrated(store, c.tenant)
    ]

    def inbound_for(client: Client) -> list[Referral]:
        return [r for r in inbound.get(client.global_id, ()) if r.tenant == client.tenant]

    if end is not None and since is not None:
        historical = [c for c in candidates if since <= c.created_at <= end]
        historical.sort(key=lambda c: c.created_at)
        return [serializers.shared(c, store, inbound_for(c)) for c in historical]

    set1: list[Client] = []
    set2: list[Client] = []
    since_day = since.date() if since is not None else None
    for client in candidates:
        if client.referred_external and client.global_id in outbound:
            if since is None or client.created_at >= since or client.updated_at >= since:
                set1.append(client)
        elif (
            since_day is None
            or client.created_at.date() >= since_day
            or client.updated_at.date() >= since_day
        ):
            set2.append(client)
    set1.sort(key=lambda c: c.updated_at, reverse=True)
    set2.sort(key=lambda c: c.updated_at, reverse=True)
    items = [serializers.referred(c, store, outbound[c.global_id], inbound_for(c)) for c in set1]
    items.extend(serializers.shared(c, store, inbound_for(c)) for c in set2)
    return items


def _integrated(store: OscarStore, tenant: str) -> bool:
    found = store.tenants.get(tenant)
    return found is not None and found.integrated
