"""Running a service: health endpoint, signal handling, graceful shutdown, exit code."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable

import structlog

from casebridge.build_info import publish_build_info
from casebridge.health import HealthServer
from casebridge.settings import HealthSettings

log = structlog.get_logger(__name__)


async def run_service(
    *,
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    ready: Callable[[], bool],
    health: HealthSettings,
    stop_event: asyncio.Event | None = None,
    service: str | None = None,
) -> None:
    """Start, serve until SIGTERM/SIGINT (or `stop_event`), then stop gracefully.

    `stop` must finish or return in-flight messages; this function returns normally so the
    process exits 0 after a clean drain. `service` (its distribution name) labels
    `casebridge_build_info`.
    """
    if service is not None:
        publish_build_info(service)
    stopping = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = None
    if health.health_port:
        server = HealthServer(health.health_host, health.health_port, ready=ready)
        await server.start()
    try:
        await start()
        log.info("service_running")
        await stopping.wait()
        log.info("service_stopping")
    finally:
        await stop()
        if server is not None:
            await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("service_stopped")


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for a message-shuffling process.

    Every message allocates a few hundred short-lived objects; with CPython's default threshold
    (700) the collector runs constantly and rescans long-lived state. Measured on the bus
    benchmark: publish +30%, hop +10-20%. Objects alive at start-up are frozen out of scans.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
