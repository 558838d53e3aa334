"""The loader as deployed: entry-point target, SQL control store, the real RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import REGISTRY
from pydantic import SecretStr

from casebridge.control import open_control_store
from casebridge.publishing import MessagePublisher
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.testing.builders import a_raw_record, an_upsert_command
from casebridge.topology import loader_queue
from loader.bootstrap import bootstrap
from loader.config import Settings
from loader.target import available_targets, find_target
from loader.targets import oscar as oscar_target
from oscar_sim.testing import RunningOscar, running_oscar

from .conftest import wait_for

LINKS = "/api/v1/organizations/clients/update_links"


@pytest.fixture(scope="module")
def oscar() -> Iterator[RunningOscar]:
    with running_oscar(samples=True) as sim:
        yield sim


def control(sim: RunningOscar, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{sim.url}/__sim{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def test_the_targets_are_installed_entry_points():
    assert {"oscar", "primero"} <= set(available_targets())
    assert find_target("oscar") is oscar_target.build


@pytest.mark.integration
async def test_commands_load_through_rabbitmq_with_retries_and_dedup(
    oscar: RunningOscar, rabbitmq_url: str, unique_prefix: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OSCAR_URL", oscar.url)
    monkeypatch.setenv("OSCAR_USER", oscar.email)
    monkeypatch.setenv("OSCAR_PASSWORD", oscar.password)
    monkeypatch.setenv("TARGET_RATE_PER_S", "0")
    settings = Settings(
        rabbitmq_url=SecretStr(rabbitmq_url),
        topology_prefix=unique_prefix,
        retry_delays_s=(0.05, 0.1, 0.2),
        loader_target="oscar",
        health_port=0,
        control_database_url=SecretStr(f"sqlite+aiosqlite:///{tmp_path}/control.db"),
    )
    control(
        oscar,
        "POST",
        "/faults",
        {"path": f"{LINKS}*", "kind": "error", "status": 503, "times": 2},
    )
    commands = []
    for n in range(3):
        raw = a_raw_record(record_id=f"case-{n}")
        item = {"global_id": f"01E6AT3BEAFMQDVBHTJHZZ8Y0{n}", "external_id": f"case-{n}"}
        commands.append(
            an_upsert_command(
                raw,
                target="oscar",
                operation="update_links",
                key={"global_id": item["global_id"]},
                payload={"data": [item]},
            )
        )
    queue = loader_queue(unique_prefix, "oscar")

    def handled(outcome: str) -> int:
        value = REGISTRY.get_sample_value(
            "casebridge_messages_total", {"queue": queue, "outcome": outcome}
        )
        return int(value or 0)

    service = await bootstrap(settings)
    probe = AmqpProbe(rabbitmq_url)
    try:
        await service.start()
        publisher = MessagePublisher(service.transport, service.topology)
        await publisher.publish_many(commands)
        await wait_for(lambda: handled("handled") == 3, timeout_s=20)
        await publisher.publish(commands[0])  # redelivered after success: acked, nothing sent
        await wait_for(lambda: handled("superseded") == 1, timeout_s=20)
        assert handled("retried") == 2
        assert probe.depth(f"{queue}.dlq") == 0
    finally:
        await service.stop()
        probe.delete(service.topology)

    log = control(oscar, "GET", "/requests")["requests"]
    bodies = [e["body"] for e in log if e["path"].rstrip("/") == LINKS and e["status"] == 200]
    assert sorted(bodies, key=str) == sorted((c.payload for c in commands), key=str)

    store = await open_control_store(f"sqlite+aiosqlite:///{tmp_path}/control.db")
    try:
        rows = await store.lineage_of("primero", "case-0")
        assert [r.outcome for r in rows] == ["loaded", "superseded"]
    finally:
        await store.close()
