"""Everything one simulator instance holds; tests get this object as their handle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from oscar_sim.auth import TokenBook
from oscar_sim.config import OscarConfig
from oscar_sim.records import Client
from oscar_sim.store import OscarStore
from simkit.clock import SimClock
from simkit.connections import ConnectionRegistry
from simkit.faults import FaultBook
from simkit.journal import Journal

UNCONFIGURED_SYSTEM = "unconfigured external system"


class OscarSim:
    def __init__(self, config: OscarConfig | None = None) -> None:
        self.config = config or OscarConfig()
        self.clock = SimClock()
        self.connections = ConnectionRegistry()
        self.journal = Journal()
        self.faults = FaultBook(self.config.seed)
        self.tokens = TokenBook(self.config.token_lifespan, self.config.max_clients_per_user)
        self.store = OscarStore(self.config.tenants, self.config.seed)

    @property
    def external_system(self) -> str | None:
        return self.config.external_system_name

    def reset(self) -> None:
        """Empty store, tokens, journal and faults; the clock is released."""
        self.store = OscarStore(self.config.tenants, self.config.seed)
        self.tokens.clear()
        self.journal.clear()
        self.faults.clear()
        self.faults.reseed(self.config.seed)
        self.clock.release()

    def load(self, records: Iterable[Mapping[str, Any]]) -> list[Client]:
        """Seed ``GET /clients``-shaped records (see ``OscarStore.ingest``)."""
        now = self.clock.now()
        system = self.external_system or UNCONFIGURED_SYSTEM
        return [self.store.ingest(r, now=now, external_system=system) for r in records]

    def seed_samples(self) -> list[Client]:
        from oscar_sim.samples import reference_clients

        return self.load(reference_clients())

    def seed_generated(self, count: int, seed: int) -> list[Client]:
        from oscar_sim.generate import generate_clients

        return self.load(generate_clients(count, seed=seed, now=self.clock.now()))
