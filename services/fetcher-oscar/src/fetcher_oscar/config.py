"""fetcher-oscar settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field

from casebridge.clients import OscarApiSettings
from casebridge.control import ControlStoreSettings
from casebridge.polling import PollingSettings
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(
    BrokerSettings,
    LoggingSettings,
    HealthSettings,
    OscarApiSettings,
    ControlStoreSettings,
    PollingSettings,
):
    """Everything fetcher-oscar reads from its environment."""

    oscar_start_date: str = Field(
        default="2022-12-19",
        description="since_date of the first pass (no cursor stored yet), YYYY-MM-DD (UTC).",
    )
    cursor_overlap_s: float = Field(
        default=300.0,
        description="The next pass starts this far before this pass started (clock skew).",
    )
    publish_chunk: int = Field(
        default=1000, ge=1, description="Raw records published (and confirmed) per batch."
    )
