"""Helpers of the admin command's tests: a declared topology on the real broker, dead letters put
straight into its DLQs, and the command run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pytest

from casebridge import headers as h
from casebridge.control import AuditEntry, BreakerRecord, open_control_store
from casebridge.topology import Topology, build_topology, loader_queue
from casebridge_cli.__main__ import main

CHILD_NAME = "Sokha Chanthavy"


@dataclass
class Admin:
    """The deployment the command administers: broker prefix and control store."""

    url: str
    prefix: str
    control_url: str
    capsys: pytest.CaptureFixture[str]

    @property
    def topology(self) -> Topology:
        return build_topology(self.prefix)

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Run `casebridge ARGV…`; returns exit status, stdout, stderr."""
        self.capsys.readouterr()
        try:
            main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = self.capsys.readouterr()
        return code, out, err

    def run_json(self, *argv: str) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    def loader_queue(self, target: str = "oscar") -> str:
        return loader_queue(self.prefix, target)

    def dead_letter(
        self,
        message_id: str,
        *,
        target: str = "oscar",
        flow: str = "c1",
        error_class: str = "HttpStatusError",
        replay_count: int = 0,
        extra_headers: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> bytes:
        """Put a dead letter (as the consumer writes one) into a loader's DLQ; returns its body."""
        body = (
            body
            or json.dumps(
                {"payload": {"organization": {"given_name": CHILD_NAME, "family_name": "Chan"}}}
            ).encode()
        )
        headers: dict[str, Any] = {
            h.MESSAGE_TYPE: "upsert_command",
            h.MESSAGE_ID: message_id,
            h.CORRELATION_ID: f"corr-{message_id}",
            h.FLOW: flow,
            h.ATTEMPTS: 1,
            h.DEAD_QUEUE: self.loader_queue(target),
            h.DEAD_STAGE: f"loader-{target}",
            h.DEAD_ERROR_CLASS: error_class,
            h.DEAD_ERROR_MESSAGE: "oscar POST /clients/upsert answered 422",
            h.DEAD_ATTEMPTS: 1,
            h.DEAD_FIRST_FAILURE: "2026-01-02T03:04:05+00:00",
            h.DEAD_LAST_FAILURE: "2026-01-02T03:04:05+00:00",
            **({h.REPLAY_COUNT: replay_count} if replay_count else {}),
            **(extra_headers or {}),
        }
        self.publish(f"{self.loader_queue(target)}.dlq", body, headers, message_id)
        return body

    def publish(self, queue: str, body: bytes, headers: dict[str, Any], message_id: str) -> None:
        with self.channel() as ch:
            ch.confirm_delivery()
            ch.basic_publish(
                "",
                queue,
                body,
                pika.BasicProperties(
                    delivery_mode=2,
                    message_id=message_id,
                    content_type="application/json",
                    headers=headers,
                ),
                mandatory=True,
            )

    def depth(self, queue: str) -> int:
        with self.channel() as ch:
            return int(ch.queue_declare(queue, passive=True).method.message_count)

    def take(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        out = []
        with self.channel() as ch:
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    return out
                out.append((props, body))

    def create_store(self) -> None:
        asyncio.run(_open_and_close(self.control_url))

    def audit_log(self) -> list[AuditEntry]:
        async def read() -> list[AuditEntry]:
            store = await open_control_store(self.control_url)
            try:
                return await store.audit_log()
            finally:
                await store.close()

        return asyncio.run(read())

    def remember(self, stage: str, *ids: str) -> None:
        async def write() -> None:
            store = await open_control_store(self.control_url)
            try:
                await store.remember(stage, ids)
            finally:
                await store.close()

        asyncio.run(write())

    def seen(self, stage: str, *ids: str) -> set[str]:
        async def read() -> set[str]:
            store = await open_control_store(self.control_url)
            try:
                return await store.seen(stage, ids)
            finally:
                await store.close()

        return asyncio.run(read())

    def set_cursor(self, name: str, value: str) -> None:
        async def write() -> None:
            store = await open_control_store(self.control_url)
            try:
                await store.set_cursor(name, value)
            finally:
                await store.close()

        asyncio.run(write())

    def record_breakers(self, *records: BreakerRecord) -> None:
        """Breaker rows as running loaders write them."""

        async def write() -> None:
            store = await open_control_store(self.control_url)
            try:
                for record in records:
                    await store.record_breaker(record)
            finally:
                await store.close()

        asyncio.run(write())

    def report_problems(self, *problems: tuple[str, str]) -> None:
        """Configuration problems as running services report them: (source, reason)."""

        async def write() -> None:
            store = await open_control_store(self.control_url)
            try:
                for source, reason in problems:
                    await store.report_problem(source, reason)
            finally:
                await store.close()

        asyncio.run(write())

    @contextlib.contextmanager
    def channel(self) -> Iterator[Any]:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            yield conn.channel()
        finally:
            with contextlib.suppress(Exception):
                conn.close()


async def _open_and_close(url: str) -> None:
    store = await open_control_store(url)
    await store.close()


def declare(url: str, topology: Topology) -> None:
    """Declare a topology with a blocking channel (what the services do at start-up)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        for ex in topology.exchanges:
            ch.exchange_declare(ex.name, ex.type, durable=True)
        for q in topology.queues():
            ch.queue_declare(q.name, durable=True, arguments=dict(q.arguments))
        for b in topology.bindings():
            ch.queue_bind(b.queue, b.exchange, b.routing_key)
    finally:
        conn.close()


def make_admin(
    rabbitmq_url: str,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Admin:
    control = f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    monkeypatch.setenv("RABBITMQ_URL", rabbitmq_url)
    monkeypatch.setenv("TOPOLOGY_PREFIX", prefix)
    monkeypatch.setenv("CONTROL_DATABASE_URL", control)
    monkeypatch.setenv("CASEBRIDGE_ACTOR", "alice@mosvy")
    admin = Admin(rabbitmq_url, prefix, control, capsys)
    declare(rabbitmq_url, admin.topology)
    admin.create_store()  # as the services do: the command itself never creates one
    return admin
