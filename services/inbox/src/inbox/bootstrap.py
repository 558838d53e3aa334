"""The inbox's composition root: settings in, a runnable service out (no I/O here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from casebridge.control import ControlStore, open_control_store
from casebridge.publishing import MessagePublisher
from casebridge.topology import Topology
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from inbox.app import create_app
from inbox.config import Settings
from inbox.intake import Intake


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: `run_service` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class InboxService:
    """Connects and declares, opens the control store, then serves the webhook port."""

    transport: Transport
    topology: Topology
    app: FastAPI
    host: str
    port: int
    open_store: Callable[[], Awaitable[ControlStore]]
    _server: _Server | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _store: ControlStore | None = field(default=None, init=False)
    _declared: bool = field(default=False, init=False)

    async def store(self) -> ControlStore:
        """The control store, opened on first use."""
        if self._store is None:
            self._store = await self.open_store()
        return self._store

    async def start(self) -> None:
        """Broker and topology first, then the store, then the port (so 202 is possible)."""
        await self.transport.connect()
        await self.transport.declare(self.topology)
        self._declared = True
        await self.store()
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_keep_alive=30,
        )
        self._server = _Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task  # raises the bind error
                raise RuntimeError("the inbox server stopped during start-up")
            await asyncio.sleep(0.01)

    @property
    def bound_port(self) -> int:
        """The port actually bound (INBOX_PORT=0 picks a free one)."""
        if self._server is None or not self._server.servers:
            raise RuntimeError("the inbox is not serving")
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop taking requests (in-flight ones finish), then disconnect and close the store."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        await self.transport.close()
        if self._store is not None:
            await self._store.close()
            self._store = None

    def ready(self) -> bool:
        """Ready while serving with the topology declared and the broker connected."""
        serving = self._server is not None and self._server.started
        return serving and self._declared and self.transport.is_ready


def bootstrap(
    settings: Settings,
    *,
    transport: Transport | None = None,
    open_store: Callable[[], Awaitable[ControlStore]] | None = None,
) -> InboxService:
    """Build the inbox; tests pass their own transport or store."""
    transport = transport or build_transport(settings, name="inbox")
    topology = topology_from(settings)
    url = settings.control_database_url.get_secret_value()

    async def open_configured_store() -> ControlStore:
        return await open_control_store(url)

    holder: list[InboxService] = []

    async def store() -> ControlStore:
        return await holder[0].store()

    intake = Intake(MessagePublisher(transport, topology), store, lambda: transport.is_ready)
    app = create_app(
        intake,
        dtp_key=settings.inbox_dtp_api_key,
        primero_key=settings.inbox_primero_api_key,
        key_header=settings.inbox_key_header,
        max_body_bytes=settings.inbox_max_body_bytes,
    )
    service = InboxService(
        transport=transport,
        topology=topology,
        app=app,
        host=settings.inbox_host,
        port=settings.inbox_port,
        open_store=open_store or open_configured_store,
    )
    holder.append(service)
    return service
