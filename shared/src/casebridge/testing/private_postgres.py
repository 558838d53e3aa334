"""A throw-away PostgreSQL cluster on a free port, for tests that stop or restart the database.

The shared PostgreSQL of a developer machine or CI serves every other test running at the same
time; a test that restarts it breaks them. This one is the test's own: `initdb` into a temporary
folder, `postgres` on a free loopback port with its socket in that folder, removed afterwards.
As root (CI here), the server runs as the `postgres` system user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def postgres_bin_dir() -> Path | None:
    """The newest installed server's `bin/` (Debian layout), else the folder of `pg_ctl` on PATH."""
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if (p / "bin" / "initdb").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    """Start, stop, kill and restart one private cluster; `url` stays valid across restarts."""

    def __init__(self, bin_dir: Path, port: int | None = None) -> None:
        self._bin = bin_dir
        self.port = port or _free_port()
        self._root = Path(tempfile.mkdtemp(prefix="cb-pg-"))
        self._data = self._root / "data"
        #: As root: the uid and gid the server runs as (PostgreSQL refuses to run as root).
        self._as: tuple[int, int] | None = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            self._as = (entry.pw_uid, entry.pw_gid)
            os.chown(self._root, *self._as)
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """A `postgresql://` URL of the cluster's `postgres` database (trust auth)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        if self._as is None:
            subprocess.run(argv, check=True, capture_output=True)
        else:
            uid, gid = self._as
            subprocess.run(
                argv, check=True, capture_output=True, user=uid, group=gid, extra_groups=[]
            )

    def init(self) -> None:
        """Create the cluster (trust auth for the `postgres` role, fsync off: it is thrown away)."""
        self._run(
            str(self._bin / "initdb"), "-D", str(self._data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server and wait until it accepts connections."""
        argv = [
            str(self._bin / "postgres"), "-D", str(self._data), "-p", str(self.port),
            "-h", "127.0.0.1", "-k", str(self._root), "-c", "fsync=off",
            "-c", "max_connections=200",
        ]  # fmt: skip
        if self._as is None:
            self._server = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            uid, gid = self._as
            self._server = subprocess.Popen(
                argv,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=uid,
                group=gid,
                extra_groups=[],
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"private PostgreSQL exited with {self._server.returncode}")
            if self._accepts():
                return
            time.sleep(0.1)
        raise RuntimeError(f"private PostgreSQL did not accept connections in {timeout_s} s")

    def _accepts(self) -> bool:
        probe = subprocess.run(
            [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return probe.returncode == 0

    def stop(self, *, kill: bool = False, timeout_s: float = 30.0) -> None:
        """Stop the server: a fast shutdown (SIGINT), or SIGKILL of the postmaster with `kill`."""
        server, self._server = self._server, None
        if server is None or server.poll() is not None:
            return
        server.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        try:
            server.wait(timeout_s)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout_s)
        if kill:  # backends outlive a killed postmaster for a moment and hold the port
            subprocess.run(["pkill", "-KILL", "-f", f"postgres -D {self._data}"], check=False)
            time.sleep(0.2)

    def restart(self, *, down_s: float = 0.0, kill: bool = False) -> None:
        """Stop, stay down `down_s` seconds, start again on the same port."""
        self.stop(kill=kill)
        time.sleep(down_s)
        self.start()

    def create_database(self, name: str) -> str:
        """Create database `name` and return its URL."""
        subprocess.run(
            [
                str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                "postgres", "-d", "postgres", "-q", "-c", f'CREATE DATABASE "{name}"',
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        """Stop the server and delete the cluster."""
        self.stop()
        shutil.rmtree(self._root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, removed on exit; raises LookupError without a server install."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise LookupError("no PostgreSQL server binaries (initdb, postgres) on this machine")
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
