"""Fault injection per route: latency, 5xx, 429 + Retry-After, dropped connections, token expiry.

Rules are matched against the request path (exact, or a prefix ending in ``*``) and an
optional method. Rates are probabilities drawn from a seeded RNG, so ``rate: 1`` is
deterministic and fractional rates are reproducible for a given seed. ``times`` bounds
how many requests a rule may hit before it retires itself, which is what retry tests need.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["error", "throttle", "drop", "expire_token"]
#: 422: a target refusing a write (a permanent failure the loader dead-letters).
ERROR_STATUSES = (422, 500, 502, 503)


@dataclass(slots=True)
class FaultRule:
    """One injected behaviour; unset knobs do nothing."""

    path: str = "*"
    method: str | None = None
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    expire_token_rate: float = 0.0
    times: int | None = None
    hits: int = field(default=0)

    def __post_init__(self) -> None:
        if self.error_status not in ERROR_STATUSES:
            raise ValueError(f"error_status must be one of {ERROR_STATUSES}")
        for name in ("error_rate", "throttle_rate", "drop_rate", "expire_token_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.method:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path.rstrip("/") == self.path.rstrip("/")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class FaultDecision:
    latency_s: float = 0.0
    outcome: Outcome | None = None
    status: int = 0
    retry_after: int = 0


class FaultBook:
    """The active rules and the seeded RNG that decides when a fractional rate fires."""

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def decide(self, method: str, path: str) -> FaultDecision:
        decision = FaultDecision()
        for rule in list(self.rules):
            if not rule.matches(method, path):
                continue
            rule.hits += 1
            if rule.times is not None and rule.hits >= rule.times:
                self.rules.remove(rule)
            decision.latency_s += rule.latency_ms / 1000.0
            if decision.outcome is None:
                self._pick_outcome(rule, decision)
        return decision

    def _pick_outcome(self, rule: FaultRule, decision: FaultDecision) -> None:
        if rule.drop_rate and self._rng.random() < rule.drop_rate:
            decision.outcome = "drop"
        elif rule.error_rate and self._rng.random() < rule.error_rate:
            decision.outcome, decision.status = "error", rule.error_status
        elif rule.throttle_rate and self._rng.random() < rule.throttle_rate:
            decision.outcome, decision.status = "throttle", 429
            decision.retry_after = rule.retry_after
        elif rule.expire_token_rate and self._rng.random() < rule.expire_token_rate:
            decision.outcome = "expire_token"
