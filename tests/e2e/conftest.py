"""The end-to-end harness: the real services on the real RabbitMQ between the two simulators.

Every service is built through its own composition root (`bootstrap`) and runs in the test's
event loop, with its own SQLite control store under `tmp_path`; the loader of the kill test runs
as a subprocess (`python -m loader`). Each test gets a unique topology prefix, deleted after.

Blocking calls (pika, requests) go through `asyncio.to_thread`: the services share the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pytest
import requests
import structlog

from casebridge.messages import DeadLetter
from casebridge.service import ConsumingService
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.topology import Topology, build_topology, loader_queue, transformer_queue
from casebridge_cli.__main__ import main
from oscar_sim.testing import RunningOscar, running_oscar
from primero_sim.testing import RunningPrimero, running_primero

#: Short retry tiers so a retried write is seen within a test.
RETRY_DELAYS = (0.2, 0.4, 0.8)
OSCAR_API = "/api/v1/organizations"
UPSERT = f"{OSCAR_API}/clients/upsert"
STATUSES = f"{OSCAR_API}/referrals/update_statuses"
LINKS = f"{OSCAR_API}/clients/update_links"


def casebridge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the admin command in-process, as an operator would; returns exit status and stdout."""
    capsys.readouterr()
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0), capsys.readouterr().out
    return 0, capsys.readouterr().out  # pragma: no cover - main always exits


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str, every_s: float = 0.1
) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s:.0f} s: {what}")
        await asyncio.sleep(every_s)


@dataclass
class Sims:
    """The two simulators, driven through their `/__sim` control surfaces."""

    primero: RunningPrimero
    oscar: RunningOscar
    session: requests.Session = field(default_factory=requests.Session)

    def _call(self, base: str, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{base}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def oscar_control(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(self.oscar.url, method, f"/__sim{path}", body)

    def primero_control(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(self.primero.base_url, method, f"/__sim{path}", body)

    def primero_api(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(
            method,
            f"{self.primero.base_url}/api/v2{path}",
            json=body,
            auth=self.primero.auth,
            timeout=10,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def oscar_writes(self) -> list[dict[str, Any]]:
        """Writes OSCaR received (sign-ins left out), in arrival order."""
        entries = self.oscar_control("GET", "/requests")["requests"]
        return [e for e in entries if "admin_auth" not in e["path"]]

    def primero_writes(self) -> list[dict[str, Any]]:
        """Writes Primero received (token logins left out), in arrival order."""
        entries = self.primero_control("GET", "/writes")["data"]
        return [e for e in entries if not e["path"].startswith("/api/v2/tokens")]

    def primero_case(self, record_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The stored case and its referrals."""
        found = self.primero_control("GET", f"/cases/{record_id}")
        return found["data"], found["referrals"]

    def create_case(self, data: dict[str, Any]) -> str:
        """POST a case through Primero's API; returns its record id."""
        created = self.primero_api("POST", "/cases", {"data": data})
        return str(created["data"]["id"])

    def refer(self, record_id: str, service_id: str, notes: str = "") -> str:
        """Refer a case's service to an OSCaR NGO (user `agency-cif-user`) through the API."""
        body = {
            "data": {
                "transitioned_to": "agency-cif-user",
                "service_record_id": service_id,
                "notes": notes,
            }
        }
        created = self.primero_api("POST", f"/cases/{record_id}/referrals", body)
        return str(created["data"]["id"])


def path_of(entry: dict[str, Any]) -> str:
    """A journal entry's path without OpenFn's trailing slash."""
    return str(entry["path"]).rstrip("/")


class Broker:
    """Blocking looks into RabbitMQ on one connection per call (run them in a thread)."""

    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology
        self.probe = AmqpProbe(url)

    def depths(self) -> dict[str, int]:
        """Ready messages of every work, retry and dead-letter queue of the topology."""
        out: dict[str, int] = {}
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = conn.channel()
            for queue in self.topology.queues():
                declared = channel.queue_declare(queue.name, passive=True)
                out[queue.name] = int(declared.method.message_count)
        finally:
            with contextlib.suppress(Exception):
                conn.close()
        return out

    def dead_letters(self, queue: str) -> list[DeadLetter]:
        """Take every message out of `queue`'s DLQ and read it as a dead letter."""
        return [
            DeadLetter.from_message(m.body, m.headers) for m in self.probe.drain(f"{queue}.dlq")
        ]

    def publish_raw(self, routing_key: str, body: bytes) -> None:
        """Publish bytes on the raw exchange, as a broken producer would."""
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = conn.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                self.topology.raw_exchange,
                routing_key,
                body,
                pika.BasicProperties(delivery_mode=2, message_id="malformed-1"),
            )
        finally:
            conn.close()


@dataclass
class Pipeline:
    """The deployment under test: settings shared by every service, one store per service."""

    rabbitmq_url: str
    prefix: str
    tmp_path: Path
    sims: Sims
    #: CONTROL_DATABASE_URL of the loaders when not SQLite files (a fresh PostgreSQL database).
    loader_store: str | None = None
    #: One control store for every service, as deployed (docker-compose, k8s): the loader's
    #: own-write records are then seen by the fetchers.
    shared_store: str | None = None
    services: list[ConsumingService] = field(default_factory=list)

    @property
    def topology(self) -> Topology:
        return build_topology(self.prefix, retry_delays=RETRY_DELAYS)

    @property
    def broker(self) -> Broker:
        return Broker(self.rabbitmq_url, self.topology)

    def bus(self) -> dict[str, Any]:
        """Broker settings every service of this deployment shares."""
        return {
            "rabbitmq_url": self.rabbitmq_url,
            "topology_prefix": self.prefix,
            "retry_delays_s": RETRY_DELAYS,
            "health_port": 0,
        }

    def store_url(self, service: str) -> str:
        if self.shared_store:
            return self.shared_store
        if self.loader_store and service.startswith("loader-"):
            return self.loader_store
        return f"sqlite+aiosqlite:///{self.tmp_path / f'{service}.db'}"

    def forget(self, service: str) -> None:
        """Delete a service's control store (an admin reset: cursors and seen ids gone)."""
        (self.tmp_path / f"{service}.db").unlink(missing_ok=True)

    # -- fetchers: one pass each, through the composition root ---------------------------
    async def fetch_primero(self) -> int:
        from fetcher_primero.bootstrap import bootstrap
        from fetcher_primero.config import Settings

        primero = self.sims.primero
        settings = Settings(
            **self.bus(),
            primero_url=primero.base_url,
            primero_user=primero.user_name,
            primero_password=primero.password,
            control_database_url=self.store_url("fetcher-primero"),
        )
        return await bootstrap(settings).run_once()

    async def fetch_oscar(self) -> int:
        from fetcher_oscar.bootstrap import bootstrap
        from fetcher_oscar.config import Settings

        oscar = self.sims.oscar
        settings = Settings(
            **self.bus(),
            oscar_url=oscar.url,
            oscar_user=oscar.email,
            oscar_password=oscar.password,
            control_database_url=self.store_url("fetcher-oscar"),
        )
        return await bootstrap(settings).run_once()

    # -- consumers: started in this loop, stopped at the end of the test -----------------
    async def start_transformer(self) -> ConsumingService:
        from transformer.bootstrap import bootstrap
        from transformer.config import Settings

        return await self._start(bootstrap(Settings(**self.bus())))

    async def start_loader(self, target: str) -> ConsumingService:
        """The loader for `target`; the target reads its own settings from the environment."""
        from loader.bootstrap import bootstrap
        from loader.config import Settings

        settings = Settings(
            **self.bus(),
            loader_target=target,
            control_database_url=self.store_url(f"loader-{target}"),
        )
        return await self._start(await bootstrap(settings))

    async def _start(self, service: ConsumingService) -> ConsumingService:
        await service.start()
        self.services.append(service)
        return service

    async def stop_all(self) -> None:
        while self.services:
            await self.services.pop().stop()

    # -- observation ----------------------------------------------------------------------
    async def settle(self, timeout_s: float = 30.0, *, quiet_polls: int = 3) -> None:
        """Wait until nothing moves: every queue of the topology empty (retry tiers included)
        and no delivery in flight in any running consumer, for `quiet_polls` polls in a row."""
        broker = self.broker
        quiet = 0

        async def idle() -> bool:
            nonlocal quiet
            depths = await asyncio.to_thread(broker.depths)
            busy = {q: n for q, n in depths.items() if n and not q.endswith(".dlq")}
            in_flight = sum(c.in_flight for s in self.services for c in s.consumers)
            quiet = 0 if busy or in_flight else quiet + 1
            return quiet >= quiet_polls

        await eventually(idle, timeout_s=timeout_s, what="the pipeline to go idle")

    async def dead_letters(self, queue: str) -> list[DeadLetter]:
        return await asyncio.to_thread(self.broker.dead_letters, queue)

    @property
    def transformer_queue(self) -> str:
        return transformer_queue(self.prefix)

    def loader_queue(self, target: str) -> str:
        return loader_queue(self.prefix, target)


@pytest.fixture
def fresh_postgres(database_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the `database_url` server; dropped after the test."""
    import psycopg
    from sqlalchemy.engine import make_url

    from casebridge.ids import new_id

    server = make_url(database_url)
    name = f"e2e_{new_id()[:8]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def primero_sim() -> Iterator[RunningPrimero]:
    with running_primero() as sim:
        yield sim


@pytest.fixture
def oscar_sim() -> Iterator[RunningOscar]:
    with running_oscar() as sim:
        yield sim


@pytest.fixture
def sims(primero_sim: RunningPrimero, oscar_sim: RunningOscar) -> Sims:
    return Sims(primero_sim, oscar_sim)


@pytest.fixture
def target_env(monkeypatch: pytest.MonkeyPatch, sims: Sims) -> dict[str, str]:
    """What the loader targets read from the environment (as deployed)."""
    env = {
        "OSCAR_URL": sims.oscar.url,
        "OSCAR_USER": sims.oscar.email,
        "OSCAR_PASSWORD": sims.oscar.password,
        "PRIMERO_URL": sims.primero.base_url,
        "PRIMERO_USER": sims.primero.user_name,
        "PRIMERO_PASSWORD": sims.primero.password,
        "TARGET_RATE_PER_S": "0",
        "BREAKER_COOLDOWN_S": "0.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def pipeline(
    rabbitmq_url: str,
    unique_prefix: str,
    tmp_path: Path,
    sims: Sims,
    target_env: dict[str, str],
) -> AsyncIterator[Pipeline]:
    structlog.contextvars.clear_contextvars()
    line = Pipeline(rabbitmq_url, unique_prefix, tmp_path, sims)
    try:
        yield line
    finally:
        await line.stop_all()
        await asyncio.to_thread(line.broker.probe.delete, line.topology)
