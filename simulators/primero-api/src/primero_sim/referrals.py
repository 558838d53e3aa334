"""Referral transitions and their side effects on the case (API.md 1.5).

Creating one adds the target to ``assigned_user_names``, flags the linked service
row as referred and bumps the case's ``last_updated_at``; status changes follow
the state machine, and illegal or unchanged transitions are silent no-ops.

As in Primero (primeroIMS/primero @4b95bf94 ``app/models/transition.rb:19-23,31,147-149``),
the transition's validations have no ``on: :create``: every save, a PATCH or a revoke
included, checks consent (against the case as it is now) and that the target user can still
receive (enabled, not a system role; skipped for remote and for a revoke), answering the
model 422. And every transition save re-saves the case (``after_save :save_record``), so
accepting moves the case's ``last_updated_at`` too (without changing ``last_updated_by``:
``accept!`` does not call ``update_last_updated_by``).
"""

from __future__ import annotations

from typing import Any

from primero_sim.clock import Clock, iso_ms
from primero_sim.errors import ApiError, forbidden, not_found
from primero_sim.ids import new_uuid
from primero_sim.records import changed_fields, require_data
from primero_sim.schema import GBV_MODULE
from primero_sim.scope import in_scope, referrals_for
from primero_sim.store import CaseStore, Record
from primero_sim.users import Directory, User

ACTIVE = ("in_progress", "accepted")
ALLOWED_FROM = {"accepted": ("in_progress",), "rejected": ("in_progress",), "done": ("accepted",)}
CREATE_KEYS = (
    "transitioned_to", "transitioned_to_remote", "transitioned_to_agency", "service",
    "service_record_id", "notes", "type_of_export", "authorized_role_unique_id",
)  # fmt: skip


def render(referral: Record, user: User | None) -> Record:
    """The transition JSON: stored columns without nulls, plus the computed keys."""
    out = {k: v for k, v in referral.items() if v is not None}
    out["record_access_denied"] = False
    out["user_can_accept_or_reject"] = bool(
        user is not None
        and not referral.get("remote")
        and referral.get("status") == "in_progress"
        and referral.get("transitioned_to") == user.user_name
    )
    return out


class Referrals:
    def __init__(self, store: CaseStore, directory: Directory, clock: Clock) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock

    def for_case(self, record_id: str, user: User) -> list[Record]:
        """The case's referrals the user's ``group_permission`` lets it see."""
        case = self.store.get(record_id)
        if case is None:
            raise not_found(record_id)
        if not in_scope(user, case, self.directory):
            raise forbidden()
        mine = referrals_for(user, case, self.store.referrals.get(record_id, []), self.directory)
        return [render(r, user) for r in mine]

    def _validate(
        self, case: Record, consent_overridden: bool, target: User | None, check_target: bool
    ) -> None:
        """``Transition`` validations: consent given or overridden, target can receive."""
        errors: list[tuple[str, list[str]]] = []
        if not consent_overridden and not _consent_given(case):
            errors.append(("consent", ["transition.errors.consent"]))
        if check_target and (target is None or not target.can_receive_referrals):
            errors.append(("transitioned_to", ["transition.errors.to_user_can_receive"]))
        if errors:
            (detail, message), *more = errors
            raise ApiError(422, message, detail, more=list(more))

    def create(self, record_id: str, body: Any, user: User) -> Record:
        return self._create(record_id, require_data(body), user)

    def create_bulk(self, body: Any, user: User) -> list[Record]:
        """One referral per id; the first failure aborts, earlier ones stay (no transaction)."""
        data = require_data(body)
        ids = data.get("ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(422, "param is missing or the value is empty or invalid: ids")
        for record_id in ids:
            if self.store.get(str(record_id)) is None:
                raise not_found(str(record_id))
        return [self._create(str(record_id), data, user) for record_id in ids]

    def _create(self, record_id: str, data: dict[str, Any], user: User) -> Record:
        with self.store.lock:
            case = self.store.get(record_id)
            if case is None:
                raise not_found(record_id)
            remote = data.get("remote") is True
            consent_overridden = data.get("consent_overridden") is True
            target = self.directory.get(data.get("transitioned_to"))
            self._validate(case, consent_overridden, None if remote else target, not remote)
            now = iso_ms(self.clock.now())
            referral: Record = {
                "id": new_uuid(),
                "type": "Referral",
                "status": "in_progress",
                "record_id": record_id,
                "record_type": "case",
                "transitioned_by": user.user_name,
                "transitioned_by_user_agency": user.agency,
                "transitioned_by_user_groups": list(user.user_groups),
                **{k: data.get(k) for k in CREATE_KEYS},
                "transitioned_to_user_agency": target.agency if target and not remote else None,
                "transitioned_to_user_groups": list(target.user_groups)
                if target and not remote
                else None,
                "remote": remote,
                "consent_overridden": consent_overridden,
                "consent_individual_transfer": data.get("consent_individual_transfer") is True,
                "allow_case_creation": data.get("allow_case_creation") is True,
                "record_owned_by": case.get("owned_by"),
                "record_owned_by_agency": case.get("owned_by_agency_id"),
                "record_owned_by_groups": case.get("owned_by_groups"),
                "created_at": now,
            }
            updated = dict(case)
            if not remote and target is not None:
                updated["assigned_user_names"] = _with(
                    case.get("assigned_user_names"), target.user_name
                )
                updated["associated_user_names"] = _with(
                    case.get("associated_user_names"), target.user_name
                )
            service_id = data.get("service_record_id")
            if service_id:
                updated["services_section"] = [
                    {**row, "service_status_referred": True}
                    if row.get("unique_id") == service_id
                    else row
                    for row in case.get("services_section") or []
                ]
            self._save(updated, user)
            self.store.add_referral(referral)
        changed = changed_fields(case, updated)
        out = render(referral, user)
        out["record"] = {"id": record_id, "enabled": updated["enabled"], **changed}
        return out

    def update(self, record_id: str, referral_id: str, body: Any, user: User) -> Record:
        """A status change; validations run first, and a 422 changes nothing."""
        data = require_data(body)
        with self.store.lock:
            referral = self._find(record_id, referral_id)
            before = dict(self.store.get(record_id) or {})
            wanted = data.get("status")
            if isinstance(wanted, str) and referral["status"] in ALLOWED_FROM.get(wanted, ()):
                self._validate_saved(referral, before, check_target=True)
                self._transition(referral, wanted, data, user)
            after = self.store.get(record_id) or {}
        return self._with_record(render(referral, user), record_id, before, after)

    def revoke(self, record_id: str, referral_id: str, user: User) -> Record:
        with self.store.lock:
            referral = self._find(record_id, referral_id)
            before = dict(self.store.get(record_id) or {})
            if referral["status"] == "in_progress":
                self._validate_saved(referral, before, check_target=False)
                referral["status"] = "revoked"
                self._save(self._unassign(before, referral), user)
            after = self.store.get(record_id) or {}
        return self._with_record(render(referral, user), record_id, before, after)

    def _validate_saved(self, referral: Record, case: Record, *, check_target: bool) -> None:
        remote = referral.get("remote") is True
        self._validate(
            case,
            referral.get("consent_overridden") is True,
            self.directory.get(referral.get("transitioned_to")),
            check_target and not remote,
        )

    @staticmethod
    def _with_record(out: Record, record_id: str, before: Record, after: Record) -> Record:
        """``transitions/update``: the transition plus the case's changed fields."""
        changed = changed_fields(before, after)
        changed.pop("id", None)
        out["record"] = {"id": record_id, "enabled": after.get("enabled", True), **changed}
        return out

    def _find(self, record_id: str, referral_id: str) -> Record:
        if self.store.get(record_id) is None:
            raise not_found(record_id)
        referral = self.store.referral(referral_id)
        if referral is None or referral["record_id"] != record_id:
            raise not_found(referral_id, "Transition")
        return referral

    def _transition(self, referral: Record, status: str, data: dict[str, Any], user: User) -> None:
        now = iso_ms(self.clock.now())
        referral["status"] = status
        case = self.store.get(referral["record_id"])
        if status in ("accepted", "rejected"):
            referral["responded_at"] = now
        if status == "accepted" and case is not None:
            # after_save :save_record re-saves the case; accept! leaves last_updated_by alone.
            self._save(dict(case), None)
        if status == "rejected":
            referral["rejected_reason"] = data.get("rejected_reason")
            referral["rejection_note"] = data.get("rejection_note")
            if case is not None:
                self._save(self._unassign(case, referral), user)
        if status == "done":
            if data.get("rejection_note") is not None:
                referral["rejection_note"] = data.get("rejection_note")
            if case is not None:
                service_id = referral.get("service_record_id")
                updated = dict(case)
                updated["services_section"] = [
                    _implemented(row, now)
                    if service_id and row.get("unique_id") == service_id
                    else row
                    for row in case.get("services_section") or []
                ]
                self._save(updated, user)

    def _unassign(self, case: Record, referral: Record) -> Record:
        """Drop the target from assigned users unless another active transition keeps them."""
        target = referral.get("transitioned_to")
        keeps = any(
            r is not referral and r.get("transitioned_to") == target and r.get("status") in ACTIVE
            for r in self.store.referrals.get(case["id"], [])
        )
        updated = dict(case)
        if target and not keeps and not referral.get("remote"):
            updated["assigned_user_names"] = [
                u for u in case.get("assigned_user_names") or [] if u != target
            ]
        return updated

    def _save(self, record: Record, user: User | None) -> None:
        """Store the case; `user` is None where Primero does not ``update_last_updated_by``."""
        if user is not None:
            record["last_updated_by"] = user.user_name
        record["last_updated_at"] = iso_ms(self.clock.now())
        self.store.put(record)


def _consent_given(case: Record) -> bool:
    """``Referral#consent_given?``: GBV needs consent for services; other modules also
    disclosure to other organisations."""
    if case.get("module_id") == GBV_MODULE:
        return bool(case.get("consent_for_services"))
    return bool(case.get("disclosure_other_orgs") and case.get("consent_for_services"))


def _with(names: Any, name: str) -> list[str]:
    current = list(names) if isinstance(names, list) else []
    return current if name in current else [*current, name]


def _implemented(row: Record, now: str) -> Record:
    out = {**row, "service_implemented": "implemented"}
    if not out.get("service_implemented_day_time"):
        out["service_implemented_day_time"] = now
    return out
