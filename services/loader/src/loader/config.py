"""Loader settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field

from casebridge.control import ControlStoreSettings
from casebridge.settings import BrokerSettings, CasebridgeSettings, HealthSettings, LoggingSettings


class ConcurrencySettings(CasebridgeSettings):
    """`CONCURRENCY`, which the composition root and the targets whose pools follow it read."""

    concurrency: int = Field(
        default=128,
        ge=1,
        description="Commands applied at once (bounded by the prefetch as well). Most of them"
        " wait on the control store's group commits, not on the target; what reaches the target"
        " is bounded by the target's request budget (e.g. OSCAR_MAX_CONCURRENT_REQUESTS).",
    )


class Settings(
    BrokerSettings, LoggingSettings, HealthSettings, ControlStoreSettings, ConcurrencySettings
):
    """Everything the loader reads from its environment; targets read their own settings."""

    loader_target: str = Field(
        default="",
        description="Which target this deployment writes to (an entry point name in the"
        " `casebridge.loader_targets` group, e.g. oscar, primero, progres, ona).",
    )
