"""A throw-away RabbitMQ node on free ports, for tests that stop, kill or restart the broker.

The shared node of a developer machine or CI (`rabbit@localhost`) serves every other test running
at the same time; a test that stops it breaks them. This one is the test's own: a node named
uniquely, its AMQP and distribution ports free loopback ports, its database, logs and plugin list
in a temporary folder (removed afterwards). `kill()` is a crash (SIGKILL of its `beam.smp`, found
through the node's pid file); `start()` again brings it back on the same ports and data, so
durable queues and persistent messages survive as they would on a real restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pika

from casebridge.ids import new_id

#: Where Debian's package puts the server script (also found on PATH).
_DEBIAN_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def rabbitmq_server() -> Path | None:
    """The `rabbitmq-server` script of this machine, if any."""
    if _DEBIAN_SERVER.exists():
        return _DEBIAN_SERVER
    found = shutil.which("rabbitmq-server")
    return Path(found) if found else None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with contextlib.closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
            return True
    except OSError:
        return False


class PrivateRabbitMQ:
    """Start, stop, kill and restart one private node; `url` stays valid across restarts."""

    def __init__(self, server: Path) -> None:
        self._server = server
        self.port = _free_port()
        self.dist_port = _free_port()
        self.node = f"cb{new_id()[:8]}@localhost"
        self._root = Path(tempfile.mkdtemp(prefix="cb-rmq-"))
        # The server may drop to the `rabbitmq` user: it must write here.
        self._root.chmod(0o777)
        (self._root / "enabled_plugins").write_text("[].\n")
        (self._root / "rabbitmq.conf").write_text("")
        self._script: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The AMQP URL of the node's default vhost (guest/guest)."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self._root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self._root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self._root / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self._root / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self._root / "rabbitmq"),
        }

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the node (same ports and data as before) and wait until AMQP answers."""
        (self._root / "pid").unlink(missing_ok=True)
        with (self._root / "server.out").open("ab") as out:
            self._script = subprocess.Popen(
                [str(self._server)],
                env=self._environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._script.poll() is not None:
                raise RuntimeError(
                    f"private RabbitMQ exited with {self._script.returncode};"
                    f" see {self._root / 'server.out'}"
                )
            if _answers(self.port) and self._accepts_amqp():
                return
            time.sleep(0.1)
        raise RuntimeError(f"private RabbitMQ did not answer in {timeout_s} s")

    def _accepts_amqp(self) -> bool:
        try:
            pika.BlockingConnection(pika.URLParameters(self.url)).close()
        except pika.exceptions.AMQPError:
            return False
        return True

    def _beam_pid(self) -> int | None:
        try:
            return int((self._root / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, *, kill: bool = False, timeout_s: float = 30.0) -> None:
        """Stop the node: SIGTERM (an orderly shutdown), or SIGKILL of `beam.smp` with `kill`."""
        script, self._script = self._script, None
        beam = self._beam_pid()
        if beam is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(beam, signal.SIGKILL if kill else signal.SIGTERM)
        if script is not None:
            try:
                script.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(script.pid, signal.SIGKILL)
                script.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while _answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill(self) -> None:
        """A broker crash: SIGKILL of the node's `beam.smp`."""
        self.stop(kill=True)

    def restart(self, *, down_s: float = 0.0, kill: bool = False) -> None:
        """Stop (or kill), stay down `down_s` seconds, start again on the same ports."""
        self.stop(kill=kill)
        time.sleep(down_s)
        self.start()

    def remove(self) -> None:
        """Stop the node and delete its folder."""
        self.stop(kill=True)
        shutil.rmtree(self._root, ignore_errors=True)


@contextlib.contextmanager
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A started private node, removed on exit; raises LookupError without a server install."""
    server = rabbitmq_server()
    if server is None:
        raise LookupError("no rabbitmq-server on this machine")
    node = PrivateRabbitMQ(server)
    try:
        node.start()
        yield node
    finally:
        node.remove()
