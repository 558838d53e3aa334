"""Loader settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field

from casebridge.control import ControlStoreSettings
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(BrokerSettings, LoggingSettings, HealthSettings, ControlStoreSettings):
    """Everything the loader reads from its environment; targets read their own settings."""

    loader_target: str = Field(
        default="",
        description="Which target this deployment writes to (an entry point name in the"
        " `casebridge.loader_targets` group, e.g. oscar, primero, progres, ona).",
    )
    concurrency: int = Field(
        default=128,
        description="Commands applied at once (bounded by the prefetch as well). Most of them"
        " wait on the control store's group commits, not on the target: the target's load is"
        " governed by TARGET_RATE_PER_S.",
    )
