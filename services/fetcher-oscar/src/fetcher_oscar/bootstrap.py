"""The fetcher-oscar composition root: settings in, a runnable fetcher out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from casebridge.clients import OscarClient
from casebridge.control import ControlStore, open_control_store
from casebridge.fetch_metrics import FetchMetrics
from casebridge.polling import PollingService, schedule_from
from casebridge.publishing import MessagePublisher
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from fetcher_oscar.clients_feed import METRICS_FLOW, ClientsFetch, utc_now
from fetcher_oscar.config import Settings


def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    client: OscarClient | None = None,
    open_store: Callable[[], Awaitable[ControlStore]] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> PollingService:
    """Build the fetcher; tests pass their own transport, client, store or clock. No I/O here."""
    transport = transport or build_transport(settings, name="fetcher-oscar")
    topology = topology_from(settings)
    url = settings.control_database_url.get_secret_value()

    async def open_configured_store() -> ControlStore:
        return await open_control_store(url)

    feed = ClientsFetch(
        client or OscarClient.from_settings(settings),
        MessagePublisher(transport, topology),
        open_store or open_configured_store,
        start_date=settings.oscar_start_date,
        overlap_s=settings.cursor_overlap_s,
        chunk=settings.publish_chunk,
        clock=clock,
    )
    return PollingService(
        transport=transport,
        topology=topology,
        fetch_pass=lambda: FetchMetrics.for_registry().measure_pass(METRICS_FLOW, feed.run),
        schedule=schedule_from(settings),
        close_resources=feed.close,
        flows=(METRICS_FLOW,),
    )
