"""Case writes: create, PATCH and soft-disable, with Primero's server-side fields.

Strong params drop unknown keys first, then the JSON schema is checked (422 with
pointers), then model validations (422 per field), then uniqueness (409).
"""

from __future__ import annotations

from typing import Any

from primero_sim.clock import Clock, iso_ms
from primero_sim.errors import conflict, invalid_record_json, missing_data, model_invalid, not_found
from primero_sim.ids import case_id_display, new_uuid, short_id
from primero_sim.merge import fill_subform_ids, merge_data
from primero_sim.schema import SUBFORMS, date_of_birth_problem, invalid_pointers, strip_unknown
from primero_sim.store import CaseStore, Record
from primero_sim.users import Directory, User


def require_data(body: Any) -> dict[str, Any]:
    """``params.require(:data)``: a missing or empty ``data`` object is a 422."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data:
        raise missing_data()
    return data


def changed_fields(old: Record, new: Record) -> Record:
    return {k: v for k, v in new.items() if old.get(k, _MISSING) != v}


_MISSING = object()


class CaseWriter:
    """Applies client writes to the store the way ``record.rb`` does."""

    def __init__(self, store: CaseStore, directory: Directory, clock: Clock) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock

    def _validated(self, data: dict[str, Any]) -> dict[str, Any]:
        data = strip_unknown(data)
        pointers = invalid_pointers(data)
        if pointers:
            raise invalid_record_json(pointers)
        problem = date_of_birth_problem(data.get("date_of_birth"), self.clock.now().year)
        if problem:
            raise model_invalid("date_of_birth", [problem])
        return data

    def create(self, body: Any, user: User) -> Record | None:
        """Returns the response ``data``, or None for the 204 when ``data.id`` was supplied."""
        data = self._validated(require_data(body))
        supplied_id = data.get("id")
        with self.store.lock:
            if supplied_id is not None and self.store.get(supplied_id) is not None:
                raise conflict()
            case_id = data.get("case_id")
            if isinstance(case_id, str) and self.store.id_for_case_id(case_id) is not None:
                raise conflict()
            record = self._new_record(data, user)
            self.store.put(record)
        return None if supplied_id is not None else dict(record)

    def _new_record(self, data: dict[str, Any], user: User) -> Record:
        now = self.clock.now()
        stamp = iso_ms(now)
        unique_identifier = new_uuid()
        owner = self.directory.get(data.get("owned_by")) if data.get("owned_by") else user
        owned_by = data.get("owned_by") or user.user_name
        record: Record = {
            "id": data.get("id") or new_uuid(),
            "enabled": True,
            "unique_identifier": unique_identifier,
            "case_id": unique_identifier,
            "short_id": short_id(unique_identifier),
            "case_id_display": case_id_display(unique_identifier),
            "record_state": True,
            "status": "open",
            "workflow": "new",
            "registration_date": now.date().isoformat(),
            "owned_by": owned_by,
            "owned_by_full_name": owner.full_name if owner else None,
            "owned_by_agency_id": owner.agency if owner else None,
            "owned_by_groups": list(owner.user_groups) if owner else [],
            "associated_user_names": [owned_by],
            "assigned_user_names": [],
            "created_by": user.user_name,
            "created_by_full_name": user.full_name,
            "created_organization": user.agency,
            "created_at": stamp,
            "posted_at": stamp,
            "last_updated_by": user.user_name,
            "last_updated_organization": user.agency,
            "not_edited_by_owner": owned_by != user.user_name,
            "record_in_scope": True,
            "flag_count": 0,
            "alert_count": 0,
        }
        record.update({k: v for k, v in data.items() if k != "id"})
        record["last_updated_at"] = stamp
        record["enabled"] = record.get("record_state") is not False
        fill_subform_ids(record, SUBFORMS, new_uuid)
        return record

    def update(self, record_id: str, body: Any, user: User) -> Record:
        """PATCH: merge, stamp, store; returns id, enabled, changed fields, last_updated_at."""
        with self.store.lock:
            old = self.store.get(record_id)
            if old is None:
                raise not_found(record_id)
            data = self._validated(require_data(body))
            data.pop("id", None)
            case_id = data.get("case_id")
            if isinstance(case_id, str) and self.store.id_for_case_id(case_id) not in (
                None,
                record_id,
            ):
                raise conflict()
            merged: Record = merge_data(old, data)
            fill_subform_ids(merged, SUBFORMS, new_uuid)
            if merged.get("owned_by") != old.get("owned_by"):
                associated = [merged.get("owned_by"), *merged.get("assigned_user_names", [])]
                merged["associated_user_names"] = list(dict.fromkeys(a for a in associated if a))
            merged["last_updated_by"] = user.user_name
            merged["last_updated_at"] = iso_ms(self.clock.now())
            merged["enabled"] = merged.get("record_state") is not False
            self.store.put(merged)
        changed = changed_fields(old, merged)
        changed.pop("id", None)
        changed["last_updated_at"] = merged["last_updated_at"]
        return {"id": record_id, "enabled": merged["enabled"], **changed}

    def disable(self, record_id: str, user: User) -> Record:
        """DELETE is a soft-disable: ``record_state=false``."""
        with self.store.lock:
            old = self.store.get(record_id)
            if old is None:
                raise not_found(record_id)
            record = dict(old)
            record["record_state"] = False
            record["last_updated_by"] = user.user_name
            record["last_updated_at"] = iso_ms(self.clock.now())
            self.store.put(record)
        return {"id": record_id}
