"""Settings mixins; each service composes its `Settings` from these plus its own fields.

Every field reads from the environment; any field can instead come from a file named by
`<ENV_NAME>_FILE` (Docker and Kubernetes secrets), which wins over the plain variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from casebridge.topology import DEFAULT_RETRY_DELAYS, QueueType


class _FileEnvSource(EnvSettingsSource):
    """Reads `<NAME>_FILE` variables: the value is the file's content, stripped."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for env_name in self._extract_env_names(field, field_name):
            path = self.env_vars.get(f"{env_name}_file")
            if path:
                return Path(path).read_text(encoding="utf-8").strip(), env_name, False
        return None, field_name, False

    def _extract_env_names(self, field: FieldInfo, field_name: str) -> list[str]:
        return [name for _, name, _ in self._extract_field_info(field, field_name)]


class CasebridgeSettings(BaseSettings):
    """Base of every settings class: env vars (case-insensitive), then `*_FILE` secrets."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _FileEnvSource(settings_cls, case_sensitive=False),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )


class BrokerSettings(CasebridgeSettings):
    """How to reach the broker and how hard to drive it."""

    transport: Literal["amqp", "memory"] = Field(
        default="amqp", description="amqp (RabbitMQ) or memory (in-process, local mode only)."
    )
    rabbitmq_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F"),
        description="AMQP URL; a secret (may carry a password). RABBITMQ_URL_FILE also works.",
    )
    topology_prefix: str = Field(
        default="cb", description="Prefix of every exchange and queue name (one per deployment)."
    )
    queue_type: QueueType = Field(
        default="quorum", description="Work queue type; quorum enforces the delivery limit."
    )
    delivery_limit: int = Field(
        default=20, description="Deliveries before the broker dead-letters a crashing message."
    )
    retry_delays_s: tuple[float, ...] = Field(
        default=DEFAULT_RETRY_DELAYS, description="Retry tiers in seconds (JSON list)."
    )
    max_attempts: int = Field(
        default=8, description="Attempts before a transient failure is dead-lettered."
    )
    prefetch: int = Field(default=500, description="Unacked deliveries per consumer.")
    ack_batch: int = Field(default=200, description="Acks sent together (multiple=True).")
    ack_interval_ms: int = Field(default=50, description="Longest wait before batched acks go.")
    publish_window: int = Field(default=1000, description="Unconfirmed publishes in flight.")
    publish_timeout_s: float = Field(
        default=30.0, description="Longest wait for a confirm, reconnects included."
    )
    connect_timeout_s: float = Field(default=30.0, description="Longest wait at start-up.")


class LoggingSettings(CasebridgeSettings):
    """Log level and format."""

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON unless stderr is a terminal."
    )


class HealthSettings(CasebridgeSettings):
    """Where `/healthz`, `/readyz` and `/metrics` listen."""

    health_host: str = Field(default="0.0.0.0", description="Bind address of the health port.")
    health_port: int = Field(default=8000, description="Health/metrics port; 0 disables it.")


def env_flag(name: str) -> bool:
    """True when an environment variable is set to a truthy word (used by test fixtures)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
