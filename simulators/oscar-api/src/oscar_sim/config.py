"""Simulator settings: who may sign in, which external system they are, which tenants exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from oscar_sim.catalogue import Tenant, default_tenants


@dataclass(slots=True)
class OscarConfig:
    """Defaults match ``reference/api/oscar-admin-auth-sign-in.json``.

    ``external_system_name`` is the ``external_systems.name`` whose ``token`` equals the
    admin email (OSCaR resolves the caller that way). None reproduces a misconfigured
    server: no referred clients in the feed and upserts failing on ``referred_from``.
    """

    email: str = "api.user@example.org"
    password: str = "s3cret"  # noqa: S105 - a fixture credential of the simulator
    external_system_name: str | None = "MoSVY Primero"
    token_lifespan: timedelta = timedelta(weeks=1)
    max_clients_per_user: int = 10
    tenants: tuple[Tenant, ...] = field(default_factory=default_tenants)
    seed: int = 0

    def tenant(self, name: str | None) -> Tenant | None:
        return next((t for t in self.tenants if t.name == name), None)
