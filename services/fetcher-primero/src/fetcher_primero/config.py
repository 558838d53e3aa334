"""fetcher-primero settings (environment variables; see the service README)."""

from __future__ import annotations

from pydantic import Field

from casebridge.clients import PrimeroApiSettings
from casebridge.clients.retry import ReadRetry
from casebridge.control import ControlStoreSettings
from casebridge.polling import PollingSettings
from casebridge.settings import BrokerSettings, HealthSettings, LoggingSettings

#: Flows with a query module here (bootstrap's `available`).
KNOWN_FLOWS = frozenset({"c1", "o1", "p2", "p3"})


class Settings(
    BrokerSettings,
    LoggingSettings,
    HealthSettings,
    PrimeroApiSettings,
    ControlStoreSettings,
    PollingSettings,
):
    """Everything fetcher-primero reads from its environment."""

    fetch_flows: str = Field(
        default="c1",
        description="Comma-separated flows this deployment fetches, in pass order"
        " (c1, o1, p2, p3).",
    )
    progres_start_cursor: str = Field(
        default="2000-01-01T00:00:00.000Z",
        description="last_updated_at the first P2 and P3 passes start from (no cursor stored yet).",
    )
    o1_start_cursor: str = Field(
        default="2000-01-01T00:00:00.000Z",
        description="last_updated_at the O1 queries start from (first pass, full re-sync).",
    )
    o1_full_resync: bool = Field(
        default=False,
        description="O1 reads everything from O1_START_CURSOR and republishes it (ignores"
        " cursors and seen ids); meant for one `--once` run.",
    )
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
        default=16,
        ge=1,
        description="Referral lists fetched at once per page (PRIMERO_MAX_CONCURRENT_REQUESTS"
        " bounds what is in flight).",
    )
    # fetcher-primero's share of the Primero host (the loader's is 6 / 15): 12 + 6 = 18 < 20 in
    # flight and 30 + 15 = 45 < 50 r/s, the bundled nginx's per-IP limits (shared README).
    primero_max_concurrent_requests: int = Field(
        default=12,
        ge=1,
        description="Requests in flight to the Primero host at most (also the keep-alive pool).",
    )
    primero_max_requests_per_s: float = Field(
        default=30.0, ge=0, description="Requests per second to Primero on average (0 = unlimited)."
    )
    read_attempts: int = Field(
        default=6,
        ge=1,
        description="Tries of one failed page or referral read (429, 5xx such as the proxy's"
        " 503 page, timeout) before the pass fails; the pages before it stay confirmed.",
    )
    read_backoff_s: float = Field(
        default=1.0, gt=0, description="First pause before a read is retried (doubles)."
    )
    read_backoff_max_s: float = Field(
        default=30.0, gt=0, description="Longest pause between two tries of a read."
    )

    def read_retry(self) -> ReadRetry:
        """How a failed read is sent again in place."""
        return ReadRetry(self.read_attempts, self.read_backoff_s, self.read_backoff_max_s)

    def flows(self) -> list[str]:
        """The flows of FETCH_FLOWS, validated against the query modules."""
        flows = [f.strip() for f in self.fetch_flows.split(",") if f.strip()]
        unknown = sorted(set(flows) - KNOWN_FLOWS)
        if unknown:
            raise ValueError(f"FETCH_FLOWS names unknown flows: {', '.join(unknown)}")
        return flows
