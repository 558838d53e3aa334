"""The fetcher-primero composition root: settings in, a runnable fetcher out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from casebridge.clients import PrimeroClient
from casebridge.control import ControlStore, open_control_store
from casebridge.polling import PollingService, schedule_from
from casebridge.publishing import MessagePublisher
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from fetcher_primero.c1_cases import C1CasesFetch
from fetcher_primero.config import Settings
from fetcher_primero.o1_cases import O1CasesFetch
from fetcher_primero.passes import FetchQuery, close_all, run_all
from fetcher_primero.progres_cases import ProgresCasesFetch


def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    client: PrimeroClient | None = None,
    open_store: Callable[[], Awaitable[ControlStore]] | None = None,
) -> PollingService:
    """Build the fetcher; tests pass their own transport, client or store. No I/O here."""
    transport = transport or build_transport(settings, name="fetcher-primero")
    topology = topology_from(settings)
    url = settings.control_database_url.get_secret_value()

    open_once = open_store or (lambda: open_control_store(url))
    store: ControlStore | None = None
    opening = asyncio.Lock()

    async def opener() -> ControlStore:
        # Every flow's query shares ONE store (one engine, one migration check) and ONE client
        # (one session, one login: Primero answers 429 after 6 logins a minute). Each query
        # still closes them at shutdown; both closes are idempotent.
        nonlocal store
        async with opening:
            if store is None:
                store = await open_once()
        return store

    shared_client = client or PrimeroClient.from_settings(
        settings, read_retry=settings.read_retry()
    )

    def primero() -> PrimeroClient:
        return shared_client

    publisher = MessagePublisher(transport, topology)
    # One entry per flow; each query module keeps its own cursors. Order = order in a pass.
    available: dict[str, Callable[[], FetchQuery]] = {
        "c1": lambda: C1CasesFetch(
            primero(),
            publisher,
            opener,
            start_cursor=settings.c1_start_cursor,
            overlap_s=settings.cursor_overlap_s,
            per=settings.page_size,
            referral_concurrency=settings.referral_concurrency,
        ),
        "o1": lambda: O1CasesFetch(
            primero(),
            publisher,
            opener,
            start_cursor=settings.o1_start_cursor,
            overlap_s=settings.cursor_overlap_s,
            per=settings.page_size,
            full_resync=settings.o1_full_resync,
        ),
    }

    def progres(flow: str) -> Callable[[], FetchQuery]:
        return lambda: ProgresCasesFetch(
            flow,
            primero(),
            publisher,
            opener,
            start_cursor=settings.progres_start_cursor,
            overlap_s=settings.cursor_overlap_s,
            per=settings.page_size,
        )

    available["p2"] = progres("p2")
    available["p3"] = progres("p3")
    queries = [(flow, available[flow]()) for flow in settings.flows()]
    return PollingService(
        transport=transport,
        topology=topology,
        fetch_pass=run_all(queries, opener),
        schedule=schedule_from(settings),
        close_resources=close_all(queries),
        flows=[flow for flow, _ in queries],
    )
