"""Each service that cannot start says why in one line and exits 2 (configuration: fix a
setting) or 3 (something it needs is unreachable), without a traceback; `LOG_LEVEL=DEBUG` keeps
the traceback. The services run as the real entry points, in child processes, with
`LOG_FORMAT=json`: every line they write (theirs, pika's, alembic's...) is one JSON object, the
failure included."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from contextlib import closing

import pytest

from oscar_sim.testing import running_oscar
from primero_sim.testing import running_primero

pytestmark = pytest.mark.integration

CONFIG, UNREACHABLE = 2, 3


def _closed_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(service: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "HEALTH_PORT": "0",
        "CONNECT_TIMEOUT_S": "1",
        "LOG_FORMAT": "json",
        "LOADER_TARGET": "oscar",
        **env,
    }
    environment.setdefault("CONTROL_DATABASE_URL", os.environ["DATABASE_URL"])
    if "LOG_LEVEL" not in env:
        environment.pop("LOG_LEVEL", None)
    return subprocess.run(
        [service, *args], env=environment, capture_output=True, text=True, timeout=90, check=False
    )


def refused_with(
    result: subprocess.CompletedProcess[str], service: str, status: int, *fragments: str
) -> str:
    """The run ended with one line naming the failure, that status, and no traceback."""
    output = result.stderr + result.stdout
    assert "Traceback" not in output, output[-3000:]
    assert result.returncode == status, output[-3000:]
    events = json_lines(output)
    failures = [e for e in events if e["event"] == "exited_on_error"]
    assert len(failures) == 1, output[-3000:]
    [failure] = failures
    assert failure == events[-1]
    assert failure["service"] == service
    assert failure["exit_status"] == status
    assert failure["level"] == "error"
    for fragment in fragments:
        assert fragment in failure["reason"]
    return str(failure["reason"])


def json_lines(output: str) -> list[dict[str, object]]:
    """Every line of `output`, each of which must be one JSON object."""
    events = []
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\n{output[-3000:]}") from None
        assert isinstance(event, dict), line
        events.append(event)
    return events


@pytest.fixture
def broker(rabbitmq_url: str, unique_prefix: str) -> dict[str, str]:
    return {"RABBITMQ_URL": rabbitmq_url, "TOPOLOGY_PREFIX": unique_prefix}


def test_broker_connection_refused() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"
    result = start("transformer", RABBITMQ_URL=url)
    refused_with(result, "transformer", UNREACHABLE, "cannot connect to the broker")


@pytest.mark.parametrize("service", ["loader", "inbox"])
def test_broker_authentication_refused(rabbitmq_url: str, service: str) -> None:
    url = rabbitmq_url.replace("guest:guest@", "guest:wrong@")
    assert url != rabbitmq_url
    result = start(service, RABBITMQ_URL=url)
    line = refused_with(result, service, CONFIG, "refused the credentials")
    assert "wrong" not in line


def test_malformed_broker_url() -> None:
    result = start("fetcher-oscar", RABBITMQ_URL="127.0.0.1:5672")
    refused_with(result, "fetcher-oscar", CONFIG, "RABBITMQ_URL is not an AMQP URL")


def test_invalid_setting(broker: dict[str, str]) -> None:
    result = start("loader", **broker, DELIVERY_LIMIT="twenty")
    refused_with(result, "loader", CONFIG, "DELIVERY_LIMIT is invalid")


def test_health_port_in_use(broker: dict[str, str]) -> None:
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = start("transformer", **broker, HEALTH_HOST="127.0.0.1", HEALTH_PORT=port)
    refused_with(result, "transformer", CONFIG, "address already in use")


def test_unknown_target(broker: dict[str, str]) -> None:
    result = start("loader", **broker, LOADER_TARGET="nosuch")
    refused_with(result, "loader", CONFIG, "'nosuch' is not an installed target")


def test_control_store_unreachable(broker: dict[str, str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    result = start("loader", **broker, CONTROL_DATABASE_URL=url)
    refused_with(result, "loader", UNREACHABLE, "control store unreachable")


def test_unreachable_simulator(broker: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = start("fetcher-oscar", "--once", **broker, OSCAR_URL=url, OSCAR_USER="a@b.c")
    refused_with(result, "fetcher-oscar", UNREACHABLE, "no connection")


def test_wrong_primero_password(broker: dict[str, str]) -> None:
    with running_primero() as primero:
        result = start(
            "fetcher-primero",
            "--once",
            **broker,
            PRIMERO_URL=primero.base_url,
            PRIMERO_USER=primero.user_name,
            PRIMERO_PASSWORD="not-the-password",
        )
    line = refused_with(result, "fetcher-primero", CONFIG, "refused by the target")
    assert "not-the-password" not in line


def test_missing_oscar_credentials(broker: dict[str, str]) -> None:
    with running_oscar() as oscar:
        result = start("fetcher-oscar", "--once", **broker, OSCAR_URL=oscar.url)
    refused_with(result, "fetcher-oscar", CONFIG, "refused by the target")


def test_log_level_debug_keeps_the_traceback() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"
    result = start("transformer", RABBITMQ_URL=url, LOG_LEVEL="DEBUG")
    assert result.returncode == UNREACHABLE
    [failure] = [e for e in json_lines(result.stderr + result.stdout) if "exception" in e]
    assert "Traceback" in str(failure["exception"])
