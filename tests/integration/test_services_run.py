"""The service entry points run for real: start, answer probes, handle, drain on SIGTERM.

They run with `LOG_FORMAT=json`, and every line they write (stdout and stderr, our events and
those of uvicorn, alembic, httpx, pika) must be one JSON object.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
import requests

from casebridge import headers as h
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.testing.builders import a_raw_record
from casebridge.topology import build_topology, transformer_queue
from oscar_sim.testing import running_oscar
from primero_sim.testing import running_primero

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(rabbitmq_url: str, prefix: str, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RABBITMQ_URL": rabbitmq_url,
        "TOPOLOGY_PREFIX": prefix,
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(port),
        "LOG_FORMAT": "json",
        **extra,
    }


@contextmanager
def _service(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def assert_json_lines(output: bytes | str) -> list[dict[str, object]]:
    """Every line of a process's output parsed; a line that is not a JSON object fails."""
    text = output.decode() if isinstance(output, bytes) else output
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(event, dict), line
        events.append(event)
    assert events, "the process wrote no log line at all"
    return events


def _wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError("service never became ready")


def test_transformer_process_dead_letters_an_unmapped_flow_and_drains_on_sigterm(
    rabbitmq_url, unique_prefix
):
    port = _free_port()
    topology = build_topology(unique_prefix)
    probe = AmqpProbe(rabbitmq_url)
    env = _env(rabbitmq_url, unique_prefix, port)
    try:
        with _service([sys.executable, "-m", "transformer"], env) as proc:
            _wait_ready(port)
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
            raw = a_raw_record(flow="zz")
            import pika

            conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
            ch = conn.channel()
            ch.confirm_delivery()
            ch.basic_publish(
                topology.raw_exchange,
                "zz.primero",
                raw.model_dump_json().encode(),
                pika.BasicProperties(delivery_mode=2, message_id=raw.message_id),
            )
            conn.close()
            dlq = f"{transformer_queue(unique_prefix)}.dlq"
            assert probe.wait_depth(dlq, 1) == 1
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            assert 'outcome="dead_lettered"' in metrics
            assert "casebridge_build_info{" in metrics
            assert 'service="transformer"' in metrics
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
            assert proc.stdout is not None
            events = assert_json_lines(proc.stdout.read())
            assert {"service_running", "service_stopped"} <= {e["event"] for e in events}
        [dead] = probe.drain(dlq)
        assert "no mapping for flow 'zz'" in dead.headers[h.DEAD_ERROR_MESSAGE]
    finally:
        probe.delete(topology)


def test_loader_with_an_unknown_target_exits_2_and_names_the_installed_ones(
    rabbitmq_url, unique_prefix
):
    env = _env(rabbitmq_url, unique_prefix, 0, LOADER_TARGET="nosuch")
    result = subprocess.run(
        [sys.executable, "-m", "loader"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    [event] = assert_json_lines(result.stderr + result.stdout)
    assert "LOADER_TARGET='nosuch' is not an installed target" in str(event["reason"])


def test_inbox_process_logs_uvicorn_and_alembic_lines_as_json(rabbitmq_url, unique_prefix):
    port = _free_port()
    env = _env(
        rabbitmq_url,
        unique_prefix,
        port,
        INBOX_HOST="127.0.0.1",
        INBOX_PORT="0",
        CONTROL_DATABASE_URL=os.environ["DATABASE_URL"],
    )
    try:
        with _service([sys.executable, "-m", "inbox"], env) as proc:
            _wait_ready(port)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
            assert proc.stdout is not None
            events = assert_json_lines(proc.stdout.read())
    finally:
        AmqpProbe(rabbitmq_url).delete(build_topology(unique_prefix))
    loggers = {e.get("logger") for e in events}
    assert "alembic.runtime.migration" in loggers  # the control store's migration check
    assert any(str(name).startswith("uvicorn") for name in loggers)
    assert all(e["service"] == "inbox" for e in events)


def test_fetchers_once_publish_the_simulated_records_and_exit_zero(
    rabbitmq_url, unique_prefix, tmp_path
):
    topology = build_topology(unique_prefix)
    probe = AmqpProbe(rabbitmq_url)
    control = f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    queue = transformer_queue(unique_prefix)
    try:
        with running_primero(samples=True) as primero, running_oscar(samples=True) as oscar:
            runs = {
                "fetcher_primero": {
                    "PRIMERO_URL": primero.base_url,
                    "PRIMERO_USER": primero.user_name,
                    "PRIMERO_PASSWORD": primero.password,
                },
                "fetcher_oscar": {
                    "OSCAR_URL": oscar.url,
                    "OSCAR_USER": oscar.email,
                    "OSCAR_PASSWORD": oscar.password,
                },
            }

            def once(module: str) -> None:
                env = _env(
                    rabbitmq_url, unique_prefix, 0, CONTROL_DATABASE_URL=control, **runs[module]
                )
                result = subprocess.run(
                    [sys.executable, "-m", module, "--once"],
                    env=env,
                    capture_output=True,
                    timeout=90,
                )
                assert result.returncode == 0, result.stderr[-2000:]
                assert_json_lines(result.stderr + result.stdout)

            published = 0
            for module in runs:
                once(module)
                depth = probe.wait_depth(queue, published + 1)
                assert depth > published, f"{module} published nothing"
                published = depth
            # A second pass finds nothing new: cursors and de-duplication hold across processes.
            for module, extra in runs.items():
                env = _env(rabbitmq_url, unique_prefix, 0, CONTROL_DATABASE_URL=control, **extra)
                result = subprocess.run(
                    [sys.executable, "-m", module, "--once"],
                    env=env,
                    capture_output=True,
                    timeout=90,
                )
                assert result.returncode == 0, result.stderr[-2000:]
            assert probe.depth(queue) == published
    finally:
        probe.delete(topology)
