"""Settings every target shares: rate limit and circuit breaker (one deployment per target)."""

from __future__ import annotations

from pydantic import Field

from casebridge.settings import CasebridgeSettings


class GuardSettings(CasebridgeSettings):
    """How hard a loader may drive its target, and when it gives the target a rest."""

    target_rate_per_s: float = Field(
        default=20.0, description="Requests per second to the target on average; 0 = unlimited."
    )
    target_burst: int = Field(default=5, description="Requests allowed back to back.")
    breaker_failures: int = Field(
        default=5, description="Consecutive transient failures that open the circuit."
    )
    breaker_cooldown_s: float = Field(
        default=30.0, description="Seconds the circuit stays open before one probe is let through."
    )
