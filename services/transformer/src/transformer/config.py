"""Transformer settings (environment variables; see the service README)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(BrokerSettings, LoggingSettings, HealthSettings):
    """Everything the transformer reads from its environment."""

    mapping_dir: Path | None = Field(
        default=None,
        description="Directory whose mapping files override the packaged ones (e.g. a ConfigMap).",
    )
    max_record_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest raw record (encoded message bytes) the transformer maps; a larger"
        " one is dead-lettered with its record id, size and this limit.",
    )
