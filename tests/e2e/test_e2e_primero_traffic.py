"""fetcher-primero (C1) and loader-primero against one Primero behind its bundled nginx limits.

The real proxy allows each client IP 20 requests in flight and 50 r/s (burst 20, no `nodelay`)
and answers a 503 HTML page past that (REAL-SYSTEMS.md; primeroIMS/primero
`docker/nginx/root/etc/nginx/conf.d/security.conf:8-11`). Here both services reach the
simulator (limits on) from one address, at once, each as deployed: the fetcher in this process
with its default budget (12 in flight, 30 r/s), the loader as `python -m loader` with its own
(6, 15 r/s), both through the real RabbitMQ. The simulator's counters and journal must show no
503 storm (none at all is expected: 18 in flight at most), every command loaded once, and every
case published by C1 with no message twice.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casebridge.messages import default_registry
from casebridge.publishing import MessagePublisher
from casebridge.settings import BrokerSettings
from casebridge.testing.builders import a_raw_record, an_upsert_command
from casebridge.transports import build_transport

from .conftest import RETRY_DELAYS, Pipeline, eventually

pytestmark = pytest.mark.e2e

CASES = 300
UPDATES = 150


@contextmanager
def primero_loader(pipeline: Pipeline, env: dict[str, str], log: Path) -> Iterator[None]:
    """`python -m loader` for target primero with its default request budget."""
    environment = {
        **os.environ,
        **env,
        "LOADER_TARGET": "primero",
        "RABBITMQ_URL": pipeline.rabbitmq_url,
        "TOPOLOGY_PREFIX": pipeline.prefix,
        "RETRY_DELAYS_S": str(list(RETRY_DELAYS)),
        "CONTROL_DATABASE_URL": pipeline.store_url("loader-primero"),
        "HEALTH_PORT": "0",
        "LOG_FORMAT": "json",
    }
    for name in ("PRIMERO_MAX_CONCURRENT_REQUESTS", "PRIMERO_MAX_REQUESTS_PER_S"):
        environment.pop(name, None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loader"], env=environment, stdout=out, stderr=out
        )
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def test_fetcher_and_loader_together_stay_under_primero_proxy_limits(
    pipeline: Pipeline, target_env: dict[str, str], tmp_path: Path
) -> None:
    sims = pipeline.sims
    state = sims.primero.state
    assert state.limits.enabled
    state.seed_generated(CASES, seed=11, profile="cambodia")
    cases = sorted(state.store.records(), key=lambda c: str(c["case_id"]))
    with_services = sum(1 for c in cases if c.get("services_section"))
    assert with_services > 100  # enough referral reads to exceed 50 r/s if unbudgeted

    # loader-primero's work: one C0 update per case (find by case_id, then PATCH).
    commands = [
        an_upsert_command(
            a_raw_record(
                flow="c0",
                system="oscar",
                record_type="client",
                record_id=f"01CLIENT{n:05d}",
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            ),
            target="primero",
            operation="case_update",
            key={"case_id": c["case_id"]},
            payload={"data": {"case_id": c["case_id"], "oscar_number": f"01{n:06d}"}},
        )
        for n, c in enumerate(cases[:UPDATES])
    ]
    transport = build_transport(BrokerSettings(**pipeline.bus()), name="e2e-publisher")
    await transport.connect()
    await transport.declare(pipeline.topology)

    def patched() -> Counter[str]:
        return Counter(
            w["path"]
            for w in sims.primero_writes()
            if w["method"] == "PATCH" and w["status"] == 200
        )

    with primero_loader(pipeline, target_env, tmp_path / "loader.log"):
        try:
            await MessagePublisher(transport, pipeline.topology).publish_many(commands)
        finally:
            await transport.close()
        # The fetcher's C1 pass runs while the loader works through its queue.
        published = await pipeline.fetch_primero()

        async def all_loaded() -> bool:
            return len(await asyncio.to_thread(patched)) == UPDATES

        await eventually(all_loaded, timeout_s=90, what="every case_update to be applied")
        loader_queue = pipeline.loader_queue("primero")

        async def loader_idle() -> bool:
            return await asyncio.to_thread(pipeline.broker.probe.depth, loader_queue) == 0

        await eventually(loader_idle, timeout_s=30, what="the loader's queue to empty")

    stats = state.limits.stats
    refused_writes = [w for w in sims.primero_writes() if w["status"] == 503]
    assert (stats.refused, refused_writes) == (0, [])  # no 503 storm: not a single one
    assert stats.max_in_flight <= 18  # 12 (fetcher) + 6 (loader) <= nginx's 20
    assert stats.passed >= with_services + UPDATES * 2

    # Nothing lost or duplicated: every update applied exactly once ...
    assert set(patched().values()) == {1}
    assert await pipeline.dead_letters(loader_queue) == []
    for n, case in enumerate(cases[:UPDATES]):
        assert state.store.get(case["id"])["oscar_number"] == f"01{n:06d}"
    # ... and C1 published every case, no message twice (the loader's PATCHes move cases'
    # `last_updated_at`, so a case may also be published again as a new version).
    raw = [
        default_registry().decode(m.body)
        for m in await asyncio.to_thread(pipeline.broker.probe.drain, pipeline.transformer_queue)
    ]
    assert len(raw) == published
    assert len({r.message_id for r in raw}) == len(raw)
    assert {r.source.record_id for r in raw} == {c["id"] for c in cases}
