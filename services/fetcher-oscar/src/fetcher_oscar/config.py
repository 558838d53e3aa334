"""fetcher-oscar settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(BrokerSettings, LoggingSettings, HealthSettings):
    """Everything fetcher-oscar reads from its environment."""

    oscar_url: str = Field(default="http://127.0.0.1:8082", description="Base URL of OSCaR.")
    oscar_user: str = Field(default="", description="OSCaR API user.")
    oscar_password: SecretStr = Field(
        default=SecretStr(""), description="OSCaR API password (or OSCAR_PASSWORD_FILE)."
    )
    poll_interval_s: float = Field(default=300.0, description="Seconds between fetch passes.")
