"""fetcher-primero settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field

from casebridge.clients import PrimeroApiSettings
from casebridge.control import ControlStoreSettings
from casebridge.polling import PollingSettings
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings


class Settings(
    BrokerSettings,
    LoggingSettings,
    HealthSettings,
    PrimeroApiSettings,
    ControlStoreSettings,
    PollingSettings,
):
    """Everything fetcher-primero reads from its environment."""

    c1_start_cursor: str = Field(
        default="2000-01-01T00:00:00.000Z",
        description="last_updated_at the first C1 pass starts from (no cursor stored yet).",
    )
    cursor_overlap_s: float = Field(
        default=300.0,
        description="Re-read this far behind the cursor (late commits, clock skew); dedup drops"
        " what was already published.",
    )
    page_size: int = Field(default=1000, ge=1, le=1000, description="Cases per page (max 1000).")
    referral_concurrency: int = Field(
        default=8, ge=1, description="Referral lists fetched at once per page."
    )
