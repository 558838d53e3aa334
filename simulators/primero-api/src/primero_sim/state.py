"""Everything one simulator instance holds, and the control operations on it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from primero_sim.auth import Authenticator, Regime
from primero_sim.clock import Clock, iso_ms
from primero_sim.generate import Profile, generate
from primero_sim.journal import new_journal
from primero_sim.limits import ProxyLimits
from primero_sim.query import Searcher
from primero_sim.records import CaseWriter
from primero_sim.referrals import Referrals
from primero_sim.store import CaseStore
from primero_sim.tables import load
from primero_sim.ties import TieShuffler
from primero_sim.users import DEFAULT_PASSWORD, Directory, default_users
from simkit.faults import FaultBook


@dataclass
class SimConfig:
    """Start-up options; ``auth_regime`` picks the v2.10 (jwt) or v2.11+ (session) login."""

    auth_regime: Regime = "jwt"
    csrf_protection: bool = True
    password: str = DEFAULT_PASSWORD
    seed: int = 42
    cases: int = 0
    samples: bool = False
    profile: Profile = "mixed"
    #: The bundled nginx's per-IP limits (see ``limits``); off only for tests that need it.
    proxy_limits: bool = True
    #: Tie groups of the sort value reordered per request, as Primero's sort has no
    #: tiebreaker (see ``ties``); off only for tests that need a fixed order.
    unstable_ties: bool = True


class SimState:
    """The simulator: store, users, auth, faults, journal, clock; safe to share with tests."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = Clock()
        self.store = CaseStore()
        self.directory = Directory(default_users(self.config.password))
        self.auth = Authenticator(self.directory, self.clock, self.config.auth_regime)
        self.auth.csrf_protection = self.config.csrf_protection
        self.faults = FaultBook(self.config.seed)
        self.limits = ProxyLimits(enabled=self.config.proxy_limits)
        self.ties = TieShuffler(self.config.seed, enabled=self.config.unstable_ties)
        self.journal = new_journal()
        self.searcher = Searcher(self.store)
        self.cases = CaseWriter(self.store, self.directory, self.clock)
        self.referrals = Referrals(self.store, self.directory, self.clock)
        self.config_locked = 0  # seconds for Retry-After while "applying configuration"
        if self.config.samples:
            self.seed_samples()
        if self.config.cases:
            self.seed_generated(self.config.cases, self.config.seed, self.config.profile)

    def reset(self) -> None:
        """Back to an empty store, no faults, no writes, fresh credentials, real time, and
        the proxy limits as configured."""
        self.store.clear()
        self.directory.reset()
        self.faults.clear()
        self.faults.reseed(self.config.seed)
        self.limits.reset(self.config.proxy_limits)
        self.ties = TieShuffler(self.config.seed, enabled=self.config.unstable_ties)
        self.journal.clear()
        self.auth.reset()
        self.clock.reset()
        self.config_locked = 0
        self.set_regime(self.config.auth_regime, self.config.csrf_protection)

    def seed_samples(self) -> dict[str, int]:
        """Load the reference sample cases and referrals (copied verbatim into the package)."""
        samples = load("samples")
        now = iso_ms(self.clock.now())
        cases = copy.deepcopy(samples["cases"])
        for case in cases:
            case.setdefault("last_updated_at", now)
            case.setdefault("record_state", True)
        known = {c["id"] for c in cases}
        referrals = [r for r in copy.deepcopy(samples["referrals"]) if r["record_id"] in known]
        self.store.load(cases, referrals)
        return {"cases": len(cases), "referrals": len(referrals)}

    def seed_generated(self, count: int, seed: int, profile: Profile = "mixed") -> dict[str, int]:
        data = generate(count, seed=seed, profile=profile)
        self.store.load(data.cases, data.referrals)
        return {"cases": len(data.cases), "referrals": len(data.referrals)}

    def set_regime(self, regime: Regime, csrf: bool | None = None) -> None:
        self.auth.regime = regime
        if csrf is not None:
            self.auth.csrf_protection = csrf

    def summary(self) -> dict[str, Any]:
        return {
            "cases": len(self.store),
            "referrals": sum(len(v) for v in self.store.referrals.values()),
            "writes": len(self.journal),
            "faults": len(self.faults),
            "proxy_limits": self.limits.enabled,
            "auth_regime": self.auth.regime,
            "csrf_protection": self.auth.csrf_protection,
            "clock_offset_s": self.clock.offset_seconds,
            "config_locked": self.config_locked,
        }
