"""Every expected failure of the admin command: one line on stderr, the documented exit status,
no traceback (`--debug` shows it); and no silent success: no control store made up, no "0
dead letters" under a mistyped prefix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from .admin_helpers import Admin

pytestmark = pytest.mark.integration

CONFIG, UNREACHABLE = 2, 3


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def casebridge(
    *argv: str, cwd: Path, unset: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, so the real top level handles the failure."""
    environment = {**os.environ, "CASEBRIDGE_ACTOR": "alice@mosvy", **env}
    for name in (*unset, "LOG_LEVEL"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "casebridge_cli", *argv],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("casebridge: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture
def env(admin: Admin) -> dict[str, str]:
    """A working configuration (the admin fixture's broker, prefix and control store)."""
    return {
        "RABBITMQ_URL": admin.url,
        "TOPOLOGY_PREFIX": admin.prefix,
        "CONTROL_DATABASE_URL": admin.control_url,
    }


def test_broker_connection_refused(env: dict[str, str], tmp_path: Path) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"
    result = casebridge("dlq", "list", cwd=tmp_path, **{**env, "RABBITMQ_URL": url})
    one_line(result, UNREACHABLE, "cannot connect to the broker", "RABBITMQ_URL")


def test_broker_authentication_refused(env: dict[str, str], tmp_path: Path) -> None:
    url = env["RABBITMQ_URL"].replace("guest:guest@", "guest:not-the-password@")
    assert url != env["RABBITMQ_URL"]
    result = casebridge("status", "--no-store", cwd=tmp_path, **{**env, "RABBITMQ_URL": url})
    line = one_line(result, CONFIG, "refused the credentials")
    assert "not-the-password" not in line


def test_malformed_broker_url(env: dict[str, str], tmp_path: Path) -> None:
    result = casebridge("dlq", "list", cwd=tmp_path, **{**env, "RABBITMQ_URL": "127.0.0.1:5672"})
    one_line(result, CONFIG, "RABBITMQ_URL is not an AMQP URL")


def test_control_store_unset_is_refused_and_never_created(
    env: dict[str, str], tmp_path: Path
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    for argv in (("cursor", "show"), ("audit",), ("dlq", "replay", "--all")):
        result = casebridge(*argv, cwd=here, unset=("CONTROL_DATABASE_URL",), **env)
        one_line(result, CONFIG, "CONTROL_DATABASE_URL is not set")
    assert list(here.iterdir()) == []  # no .casebridge/control.db made up


def test_control_store_file_missing_is_named_not_created(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "elsewhere" / "control.db"
    url = f"sqlite+aiosqlite:///{missing}"
    result = casebridge("cursor", "show", cwd=tmp_path, **{**env, "CONTROL_DATABASE_URL": url})
    one_line(result, CONFIG, str(missing), "does not create one")
    assert not missing.parent.exists()


def test_control_store_unreachable(env: dict[str, str], tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    result = casebridge("cursor", "show", cwd=tmp_path, **{**env, "CONTROL_DATABASE_URL": url})
    one_line(result, UNREACHABLE, "control store unreachable")


def test_unknown_work_queue(env: dict[str, str], tmp_path: Path) -> None:
    result = casebridge("dlq", "list", "--queue", "loader.nosuch", cwd=tmp_path, **env)
    one_line(result, CONFIG, "unknown work queue 'loader.nosuch'", "loader.oscar")


def test_prefix_without_queues_is_an_error_not_zero(
    admin: Admin, env: dict[str, str], tmp_path: Path
) -> None:
    admin.dead_letter("msg-1")
    typo = {**env, "TOPOLOGY_PREFIX": f"{admin.prefix}x"}
    for argv in (("dlq", "list"), ("dlq", "replay", "--all"), ("status", "--no-store")):
        result = casebridge(*argv, cwd=tmp_path, **typo)
        one_line(result, CONFIG, f"no casebridge queues with prefix '{admin.prefix}x'")
        assert "replayed" not in result.stdout
    assert admin.depth(f"{admin.loader_queue()}.dlq") == 1


def test_debug_shows_the_traceback(env: dict[str, str], tmp_path: Path) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"
    for argv, extra in (
        (("dlq", "list", "--debug"), {}),
        (("dlq", "list"), {"LOG_LEVEL": "DEBUG"}),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "casebridge_cli", *argv],
            env={**os.environ, **env, "RABBITMQ_URL": url, **extra},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert "Traceback" in result.stderr


def test_version_and_environment_in_help(tmp_path: Path) -> None:
    version = casebridge("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("casebridge ")
    top = casebridge("--help", cwd=tmp_path)
    assert "RABBITMQ_URL" in top.stdout
    assert "CONTROL_DATABASE_URL" in top.stdout
    status = casebridge("status", "--help", cwd=tmp_path)
    assert "environment: RABBITMQ_URL" in status.stdout
    assert "RABBITMQ_MANAGEMENT_URL" in status.stdout
