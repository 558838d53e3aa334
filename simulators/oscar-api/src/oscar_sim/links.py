"""``PUT /clients/update_links`` and ``PUT /referrals/update_statuses`` (API.md §2.3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oscar_sim.blank import text
from oscar_sim.catalogue import REFERRAL_STATUS_UPDATES
from oscar_sim.reply import RECORD_ERROR, RECORD_SAVED, Reply
from oscar_sim.store import OscarStore
from oscar_sim.upsert import BAD_STATUS


def update_links(store: OscarStore, body: Any, now: datetime) -> Reply:
    """Writes Primero ids onto every tenant copy of each global_id; unknown ids are skipped."""
    items = body.get("data") if isinstance(body, Mapping) else None
    if not items or not isinstance(items, list):
        return Reply.crash()  # the no-data path references an undefined local
    for item in items:
        if not isinstance(item, Mapping):
            continue
        global_id = text(item.get("global_id"))
        for client in store.clients_with_global_id(global_id) if global_id else ():
            client.external_id = text(item.get("external_id"))
            client.external_id_display = text(item.get("external_id_display"))
            client.synced_date = now.date()
            client.updated_at = now
    return Reply(200, {"message": RECORD_SAVED})


def update_statuses(store: OscarStore, body: Any) -> Reply:
    """In order, no transaction: items before the first failure stay updated."""
    items = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return _failed("undefined method `each' for nil:NilClass")
    for item in items:
        if not isinstance(item, Mapping):
            return _failed("no implicit conversion of String into Integer")
        global_id = text(item.get("client_global_id"))
        if global_id is None or global_id not in store.global_ids:
            return _failed(f"Couldn't find GlobalIdentity with 'ulid'={global_id or ''}")
        referral_id = item.get("referral_id")
        referral = store.referrals.get(_as_int(referral_id))
        if referral is None or referral.client_global_id != global_id:
            return _failed(f"Couldn't find Referral with 'id'={referral_id}")
        status = text(item.get("referral_status"))
        if status not in REFERRAL_STATUS_UPDATES:
            return _failed(f"Validation failed. {BAD_STATUS}")
        referral.referral_status = status
    return Reply(200, {"message": RECORD_SAVED})


def _failed(error: str) -> Reply:
    return Reply(422, {"error": error, "message": RECORD_ERROR})


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
