"""One deployment of casebridge for one chaos row: every service its own process, as deployed.

Broker and database are the matrix's own (`PrivateRabbitMQ`, `PrivatePostgres`), so a row may
kill them; each row gets a fresh topology prefix, a fresh control database (one for every
service, as docker-compose and k8s deploy it), a fresh ONA database and fresh simulators (their
own processes), so the journals and tables it reconciles hold only its own effects.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from casebridge.ids import new_id
from casebridge.testing.private_postgres import PrivatePostgres
from casebridge.testing.private_rabbitmq import PrivateRabbitMQ

OSCAR_EMAIL, OSCAR_PASSWORD = "api.user@example.org", "s3cret"
#: Short retry tiers, so a retried write is seen within a row.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
SERVICES = ("transformer", "loader-oscar", "loader-ona", "fetcher-primero")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


@dataclass
class Process:
    """A service or simulator process that a row may SIGKILL and start again."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    health: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL: the process dies mid-whatever, as in a node crash or OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        """What an orchestrator does after a crash (no admin involved)."""
        self.kill()
        self.restarts += 1
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        if not self.alive():
            return False
        if self.health is None:
            return True
        try:
            return requests.get(self.health, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> int | None:
        """SIGTERM, wait; the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None


@dataclass
class Deployment:
    broker: PrivateRabbitMQ
    database: PrivatePostgres
    work_dir: Path
    cases: int
    seed: int
    oscar_seed: list[dict[str, Any]]
    prefix: str = field(default_factory=lambda: f"chaos{new_id()[:6]}")
    sims: dict[str, Process] = field(default_factory=dict)
    services: dict[str, Process] = field(default_factory=dict)
    control_url: str = ""
    ona_url: str = ""

    @property
    def primero_url(self) -> str:
        return self.sims["primero"].env["CHAOS_URL"]

    @property
    def oscar_url(self) -> str:
        return self.sims["oscar"].env["CHAOS_URL"]

    def start_simulators(self) -> None:
        py = sys.executable
        primero_port, oscar_port = free_port(), free_port()
        base = {**os.environ}
        primero = Process(
            "primero-sim",
            [py, "-m", "primero_sim", "--port", str(primero_port), "--seed", str(self.seed),
             "--cases", str(self.cases), "--profile", "cambodia", "--log-level", "warning"],
            {**base, "CHAOS_URL": f"http://127.0.0.1:{primero_port}"},
            self.work_dir / "primero-sim.log",
        )  # fmt: skip
        oscar = Process(
            "oscar-sim",
            [py, "-m", "oscar_sim", "--port", str(oscar_port), "--log-level", "warning"],
            {**base, "CHAOS_URL": f"http://127.0.0.1:{oscar_port}"},
            self.work_dir / "oscar-sim.log",
        )
        self.sims = {"primero": primero, "oscar": oscar}
        for sim in self.sims.values():
            sim.start()
        wait_http(f"{self.primero_url}/__sim/health")
        wait_http(f"{self.oscar_url}/__sim/health")
        seeded = requests.post(
            f"{self.oscar_url}/__sim/seed",
            json={"source": "records", "records": self.oscar_seed},
            timeout=60,
        )
        seeded.raise_for_status()

    def create_databases(self) -> None:
        self.control_url = self.database.create_database(f"control_{self.prefix}")
        self.ona_url = self.database.create_database(f"ona_{self.prefix}")

    def _service(self, name: str, module: str, extra: dict[str, str]) -> Process:
        port = free_port()
        env = {
            **os.environ,
            "RABBITMQ_URL": self.broker.url,
            "TOPOLOGY_PREFIX": self.prefix,
            "RETRY_DELAYS_S": str(list(RETRY_DELAYS)),
            "CONTROL_DATABASE_URL": self.control_url,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(port),
            **extra,
        }
        return Process(
            name,
            [sys.executable, "-m", module],
            env,
            self.work_dir / f"{name}.log",
            health=f"http://127.0.0.1:{port}/readyz",
        )

    def start_services(self) -> None:
        """Transformer and loaders first (ready), then the fetcher, polling every 2 s."""
        oscar = {
            "OSCAR_URL": self.oscar_url,
            "OSCAR_USER": OSCAR_EMAIL,
            "OSCAR_PASSWORD": OSCAR_PASSWORD,
            "BREAKER_COOLDOWN_S": "1",
            "CONCURRENCY": "8",
        }
        ona = {
            "ONA_DATABASE_URL": self.ona_url,
            "ONA_MIGRATE": "true",
            "ONA_BATCH_SIZE": "10",
            "ONA_BATCH_WINDOW_MS": "100",
            "ONA_RECONNECT_S": "1",
        }
        fetcher = {
            "PRIMERO_URL": self.primero_url,
            "PRIMERO_USER": "primero",
            "PRIMERO_PASSWORD": "primero-sim",
            "FETCH_FLOWS": "c1,o1",
            "POLL_INTERVAL_S": "2",
            "PAGE_SIZE": "25",
            "READ_BACKOFF_S": "0.5",
        }
        oscar["LOADER_TARGET"], ona["LOADER_TARGET"] = "oscar", "ona"
        self.services = {
            "transformer": self._service("transformer", "transformer", {}),
            "loader-oscar": self._service("loader-oscar", "loader", oscar),
            "loader-ona": self._service("loader-ona", "loader", ona),
            "fetcher-primero": self._service("fetcher-primero", "fetcher_primero", fetcher),
        }
        for name in ("transformer", "loader-oscar", "loader-ona"):
            self.services[name].start()
        for name in ("transformer", "loader-oscar", "loader-ona"):
            health = self.services[name].health
            assert health is not None
            wait_http(health)

    def start_fetcher(self) -> None:
        self.services["fetcher-primero"].start()

    def stop(self) -> dict[str, int | None]:
        """Stop every service (SIGTERM: their exit statuses) and simulator."""
        statuses = {name: p.stop() for name, p in reversed(self.services.items())}
        for sim in self.sims.values():
            sim.stop()
        return statuses
