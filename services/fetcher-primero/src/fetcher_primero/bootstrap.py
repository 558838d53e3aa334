"""The fetcher-primero composition root: settings in, a runnable fetcher out."""

from __future__ import annotations

from casebridge.polling import PollingService
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from fetcher_primero.config import Settings


async def _no_queries_yet() -> int:
    """The Primero queries of each flow plug in here; none ship yet."""
    return 0


def bootstrap(settings: Settings, *, transport: Transport | None = None) -> PollingService:
    """Build the fetcher; tests pass their own transport."""
    return PollingService(
        transport=transport or build_transport(settings, name="fetcher-primero"),
        topology=topology_from(settings),
        fetch_pass=_no_queries_yet,
        interval_s=settings.poll_interval_s,
    )
