"""What a user's role lets it see: its record scope, its referrals, its readable fields.

Primero limits the index to ``User#record_query_scope`` (the role's ``group_permission``:
``self`` -> records the user is associated with, ``group`` -> records of its user groups,
``agency`` -> of its agency, ``all``), lists a case's referrals through
``Transitionable#referrals_for_user``, and only reads, filters on and returns the fields the
role may read (``Api::V2::Concerns::Record#permitted_index_params``). Real sources:
primeroIMS/primero @4b95bf94 ``app/models/user.rb:489-507``,
``app/models/concerns/transitionable.rb:37-50,122-150``,
``app/controllers/api/v2/concerns/record.rb:150-152,219-227``.
"""

from __future__ import annotations

import re

from primero_sim.store import Record
from primero_sim.users import Directory, User

#: The field an index parameter filters on: `f`, `f[0]`, `or[f]`, `not[f][]`, `loc:f`.
_PARAM_FIELD = re.compile(r"\A(?:(?:or|not)\[)?(?:loc:)?([^\[\]]+)")


def _names(record: Record) -> set[str]:
    names = {record.get("owned_by")}
    for key in ("associated_user_names", "assigned_user_names"):
        names.update(record.get(key) or [])
    return {str(n) for n in names if n}


def in_scope(user: User, record: Record, directory: Directory) -> bool:
    """Whether the record is within the user's ``group_permission`` scope."""
    scope = user.group_permission
    if scope == "all":
        return True
    names = _names(record)
    if scope == "self":
        return user.user_name in names
    associated = [u for u in (directory.get(n) for n in names) if u is not None]
    if scope == "agency":
        return record.get("owned_by_agency_id") == user.agency or any(
            u.agency == user.agency for u in associated
        )
    groups = set(user.user_groups)
    return bool(
        groups & set(record.get("owned_by_groups") or [])
        or any(groups & set(u.user_groups) for u in associated)
    )


def referrals_for(
    user: User, record: Record, referrals: list[Record], directory: Directory
) -> list[Record]:
    """``referrals_for_user``: the owner, and ``all`` roles, see every referral of the case;
    others only those addressed to them, their agency or their groups' users."""
    scope = user.group_permission
    if scope == "all" or record.get("owned_by") == user.user_name:
        return list(referrals)
    if scope == "self":
        return [r for r in referrals if r.get("transitioned_to") == user.user_name]
    owner = directory.get(record.get("owned_by"))
    if scope == "agency":
        if owner is not None and owner.agency == user.agency:
            return list(referrals)
        return [r for r in referrals if r.get("transitioned_to_agency") == user.agency]
    if set(record.get("owned_by_groups") or []) & set(user.user_groups):
        return list(referrals)
    colleagues = {
        u.user_name for u in directory.users if set(u.user_groups) & set(user.user_groups)
    }
    return [r for r in referrals if r.get("transitioned_to") in colleagues]


def readable(user: User, record: Record) -> Record:
    """The record without the fields the user's role cannot read."""
    hidden = user.unreadable_fields
    if not hidden:
        return record
    return {k: v for k, v in record.items() if k not in hidden}


def restricted(user: User) -> bool:
    """Whether the user sees less than everything (the fast pre-serialised path is off)."""
    return bool(user.unreadable_fields) or user.group_permission != "all"


def unreadable_param(user: User, name: str) -> bool:
    """Whether an index query parameter filters on a field the role cannot read."""
    if not user.unreadable_fields:
        return False
    found = _PARAM_FIELD.match(name)
    return found is not None and found.group(1) in user.unreadable_fields
