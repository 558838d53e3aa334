"""``PUT /clients/update_links`` and ``PUT /referrals/update_statuses`` (API.md §2.3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oscar_sim.blank import text
from oscar_sim.catalogue import CLIENT_STATUSES, LEVELS_OF_RISK
from oscar_sim.records import Referral
from oscar_sim.reply import RECORD_ERROR, RECORD_SAVED, Reply
from oscar_sim.store import OscarStore
from oscar_sim.upsert import BAD_STATUS, CANT_BE_BLANK, NOT_IN_LIST


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
    """``update_referral_status`` (controller :165-192): in order, no transaction, so items
    before the first failure stay updated. The tenant is the child's FIRST organisation, the
    referral is found there by id alone, and ``update_attributes`` runs the model's
    validations, so a legacy referral without ``level_of_risk`` is refused."""
    items = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return _failed("undefined method `each' for nil:NilClass")
    for item in items:
        if not isinstance(item, Mapping):
            return _failed("no implicit conversion of String into Integer")
        global_id = text(item.get("client_global_id"))
        first = store.first_client(global_id) if global_id else None
        if first is None:  # no GlobalIdentityOrganization: a bare raise
            return _failed("ActiveRecord::RecordNotFound")
        referral_id = item.get("referral_id")
        referral = store.referrals.get(_as_int(referral_id))
        if referral is None or referral.tenant != first.tenant:
            return _failed(f"Couldn't find Referral with 'id'={referral_id}")
        status = text(item.get("referral_status"))
        messages = _validation_messages(referral, status)
        if messages:
            return _failed(". ".join([*messages, BAD_STATUS]))
        referral.referral_status = str(status)
    return Reply(200, {"message": RECORD_SAVED})


def _validation_messages(referral: Referral, status: str | None) -> list[str]:
    """Rails full messages of referral.rb:27-28 for the referral as it would be saved."""
    messages: list[str] = []
    if status is None:
        messages.append(f"Referral status {CANT_BE_BLANK}")
    if status not in CLIENT_STATUSES:
        messages.append(f"Referral status {NOT_IN_LIST}")
    if referral.level_of_risk is None:
        messages.append(f"Level of risk {CANT_BE_BLANK}")
    if referral.level_of_risk not in LEVELS_OF_RISK:
        messages.append(f"Level of risk {NOT_IN_LIST}")
    return messages


def _failed(error: str) -> Reply:
    return Reply(422, {"error": error, "message": RECORD_ERROR})


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
