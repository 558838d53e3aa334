"""The simulated user directory behind auth, referrals and ``GET /api/v2/users``."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from primero_sim.tables import load

DEFAULT_PASSWORD = "primero-sim"  # noqa: S105 - a well-known simulator credential, not a secret
SYSTEM_ROLE = "role-system"
#: ``Role#group_permission``: which records (and referrals) a user's queries see.
GroupPermission = Literal["self", "group", "agency", "all"]
GROUP_PERMISSIONS = ("self", "group", "agency", "all")


@dataclass
class User:
    """One Primero user; ``role_category`` ``system`` cannot receive referrals."""

    id: int
    user_name: str
    password: str
    full_name: str
    agency: str
    user_groups: list[str]
    role: str = "role-cp-case-worker"
    group_permission: GroupPermission = "all"
    position: str = "Case worker"
    disabled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: Case fields the user's role cannot read: hidden in answers, and index filters on them
    #: are silently dropped (``permitted_index_params``).
    unreadable_fields: frozenset[str] = frozenset()
    #: The role grants ``:index, User`` (``GET /api/v2/users``); without it that call is a 403.
    can_index_users: bool = True

    @property
    def can_receive_referrals(self) -> bool:
        return self.role != SYSTEM_ROLE and not self.disabled

    @property
    def email(self) -> str:
        return f"{self.user_name}@primero.sim.invalid"

    def to_api(self) -> dict[str, Any]:
        """The ``GET /api/v2/users`` item shape (no password, obviously)."""
        return {
            "id": self.id,
            "user_name": self.user_name,
            "full_name": self.full_name,
            "code": None,
            "email": self.email,
            "phone": f"+855 12 {self.id:06d}",
            "position": self.position,
            "agency_id": _agency_number(self.agency),
            "agency_unique_id": self.agency,
            "role_unique_id": self.role,
            "user_group_unique_ids": list(self.user_groups),
            "module_unique_ids": ["primeromodule-cp"],
            "locale": "en",
            "disabled": self.disabled,
            **self.extra,
        }


def _agency_number(agency: str) -> int:
    return sum(ord(c) for c in agency) % 997 + 1


def default_users(password: str = DEFAULT_PASSWORD) -> list[User]:
    """Users the reference samples and the OpenFn jobs name, plus province and agency users."""
    tables = load("tables")
    rows: list[tuple[str, str, str, list[str], str]] = [
        (
            "primero",
            "System Superuser",
            "agency-unicef",
            ["usergroup-primero-cp"],
            "role-superuser",
        ),
        ("openfn_cp_user", "OpenFn CP user", "agency-unicef", ["usergroup-primero-cp"], "role-cp"),
        (
            "openfn_api_user",
            "OpenFn API user",
            "agency-unicef",
            ["usergroup-primero-cp"],
            "role-cp",
        ),
        ("openfn_testing", "OpenFn testing", "agency-unicef", ["usergroup-primero-cp"], "role-cp"),
        ("primero_cp", "CP worker", "agency-unicef", ["usergroup-primero-cp"], "role-cp"),
        ("primero_mgr_cp", "CP manager", "agency-unicef", ["usergroup-primero-cp"], "role-cp"),
        ("unhcr_cw", "UNHCR case worker", "UNHCR", ["usergroup-unhcr"], "role-cp"),
        (
            "progresv4_primero_intake",
            "proGres v4 intake",
            "UNICEF",
            ["usergroup-gambella"],
            "role-cp",
        ),
        ("tabide", "DRC case worker", "DRC", ["usergroup-drc"], "role-cp"),
        ("primero_system", "System integration", "agency-unicef", [], SYSTEM_ROLE),
    ]
    for agency, user_name in sorted(tables["cambodia_agency_users"].items()):
        group = "usergroup-" + agency.removeprefix("agency-")
        rows.append((user_name, f"{agency} generic user", agency, [group], "role-cp"))
    for code, user_name in sorted(tables["cambodia_province_users"].items()):
        rows.append(
            (user_name, f"Province {code} manager", "agency-mosvy", ["usergroup-mosvy"], "role-mgr")
        )
    return [
        User(index + 1, name, password, full, agency, groups, role)
        for index, (name, full, agency, groups, role) in enumerate(rows)
    ]


class Directory:
    """Case-insensitive, whitespace-stripped lookup by ``user_name`` (Devise keys)."""

    def __init__(self, users: list[User]) -> None:
        self._defaults = copy.deepcopy(users)
        self.users = users
        self._by_name = {u.user_name.strip().lower(): u for u in users}

    def reset(self) -> None:
        """Back to the users (and roles) the directory started with."""
        self.users[:] = copy.deepcopy(self._defaults)
        self._by_name = {u.user_name.strip().lower(): u for u in self.users}

    def get(self, user_name: str | None) -> User | None:
        if not user_name:
            return None
        return self._by_name.get(user_name.strip().lower())

    def add(self, user: User) -> None:
        self.users.append(user)
        self._by_name[user.user_name.strip().lower()] = user


def configure(user: User, settings: dict[str, Any]) -> None:
    """Apply a role configuration (the ``/__sim/users`` body) to one user; ValueError if bad."""
    if "group_permission" in settings:
        scope = settings["group_permission"]
        if scope not in GROUP_PERMISSIONS:
            raise ValueError(f"group_permission must be one of {', '.join(GROUP_PERMISSIONS)}")
        user.group_permission = scope
    if "unreadable_fields" in settings:
        fields = settings["unreadable_fields"]
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError("unreadable_fields must be a list of field names")
        user.unreadable_fields = frozenset(fields)
    for flag in ("can_index_users", "disabled"):
        if flag in settings:
            if not isinstance(settings[flag], bool):
                raise ValueError(f"{flag} must be true or false")
            setattr(user, flag, settings[flag])
