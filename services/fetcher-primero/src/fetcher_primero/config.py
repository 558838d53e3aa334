"""fetcher-primero settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(BrokerSettings, LoggingSettings, HealthSettings):
    """Everything fetcher-primero reads from its environment."""

    primero_url: str = Field(default="http://127.0.0.1:8081", description="Base URL of Primero.")
    primero_user: str = Field(default="", description="Primero API user.")
    primero_password: SecretStr = Field(
        default=SecretStr(""), description="Primero API password (or PRIMERO_PASSWORD_FILE)."
    )
    poll_interval_s: float = Field(default=300.0, description="Seconds between fetch passes.")
