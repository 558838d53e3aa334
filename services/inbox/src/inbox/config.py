"""Inbox settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from casebridge.control import ControlStoreSettings
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(BrokerSettings, LoggingSettings, HealthSettings, ControlStoreSettings):
    """Everything the inbox reads from its environment."""

    inbox_host: str = Field(default="0.0.0.0", description="Bind address of the webhook port.")
    inbox_port: int = Field(default=8080, description="Webhook port (0 picks a free one).")
    inbox_dtp_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="API key DTP sends on POST /inbox/dtp (or INBOX_DTP_API_KEY_FILE); empty"
        " refuses every call.",
    )
    inbox_primero_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="API key Primero's outgoing webhook sends (or INBOX_PRIMERO_API_KEY_FILE);"
        " empty refuses every call.",
    )
    inbox_key_header: str = Field(
        default="x-api-key", description="Header carrying the API key (OpenFn's and Primero's)."
    )
    inbox_max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest accepted request body; larger -> 413."
    )
    publish_timeout_s: float = Field(
        default=10.0,
        description="Longest wait for the broker's confirm before answering 503 (the sender"
        " retries; its own timeout must be longer).",
    )
