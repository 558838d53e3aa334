"""The `ona` target on the real PostgreSQL and RabbitMQ: exact rows, re-runs, staleness, a bad
row alone in the DLQ, and a database restart in the middle of a run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from casebridge.ids import new_id
from casebridge.messages import DeadLetter, RawRecord, SourceRef, UpsertCommand
from casebridge.publishing import MessagePublisher
from casebridge.service import ConsumingService
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.testing.private_postgres import PrivatePostgres
from casebridge.topology import loader_queue
from loader.bootstrap import bootstrap
from loader.config import Settings
from loader.ona.migrate import migrate_ona
from loader.target import find_target
from loader.targets import ona as ona_target
from loader.targets.ona import OnaSettings, OnaTarget
from transformer.ona import load_ona_tables, map_o1

from .conftest import MemoryControlStore, wait_for

pytestmark = pytest.mark.integration

SAMPLES = (
    Path(__file__).resolve().parents[2]
    / "transformer"
    / "tests"
    / "fixtures"
    / "primero-cases.json"
)
#: Synthetic lookup rows for the districts of the ONA sample case (107 and 1006).
LOCATIONS = [
    ("107", "district-0107", "province-01", "01"),
    ("1006", "district-1006", "province-10", "10"),
]


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def ona_url(database_url: str) -> Iterator[str]:
    """A fresh database for this module, migrated to head, with the lookup rows."""
    name = f"ona_test_{new_id()[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(database_url, name)
    asyncio.run(migrate_ona(url))
    asyncio.run(migrate_ona(url))  # idempotent
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO locations_lookup (code, district, province, province_code)"
            " VALUES (%s, %s, %s, %s)",
            LOCATIONS,
        )
    yield url
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clean(ona_url: str) -> str:
    """Each test starts with empty cases and services (the test does this, never the loader)."""
    with psycopg.connect(ona_url) as conn:
        conn.execute("DELETE FROM services")
        conn.execute("DELETE FROM cases")
    return ona_url


def sample_cases() -> list[dict[str, Any]]:
    document = json.loads(SAMPLES.read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


def raw_case(case: dict[str, Any]) -> RawRecord:
    source = SourceRef(
        system="primero",
        record_type="case",
        record_id=str(case["id"]),
        updated_at=case["last_updated_at"],
    )
    return RawRecord.of(flow="o1", source=source, payload=case, producer="tests")


def command_for(case: dict[str, Any]) -> UpsertCommand:
    [command] = map_o1(raw_case(case), load_ona_tables())
    return command


def synthetic(n: int, *, updated: str = "2024-02-01T00:00:00.000Z", **over: Any) -> dict[str, Any]:
    case = {
        "id": f"uuid-{n:06d}",
        "case_id_display": f"c{n:06d}",
        "registration_date": "2024-01-15",
        "sex": "female",
        "age": n % 18,
        "location_current": "1070101",
        "services_section": [
            {"unique_id": f"svc-{n:06d}", "service_type": "counselling"},
        ],
        "last_updated_at": updated,
    }
    case.update(over)
    return case


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def count(queue: str, outcome: str) -> int:
    value = REGISTRY.get_sample_value(
        "casebridge_messages_total", {"queue": queue, "outcome": outcome}
    )
    return int(value or 0)


@asynccontextmanager
async def running(
    rabbitmq_url: str, prefix: str, ona_url: str, **ona: Any
) -> AsyncIterator[tuple[ConsumingService, MessagePublisher, str]]:
    settings = Settings(
        rabbitmq_url=SecretStr(rabbitmq_url),
        topology_prefix=prefix,
        retry_delays_s=(0.2, 0.5, 1.0),
        loader_target="ona",
        health_port=0,
    )
    options: dict[str, Any] = {
        "ona_batch_size": 50,
        "ona_batch_window_ms": 20,
        "ona_migrate": True,
    } | ona
    target = OnaTarget(OnaSettings(ona_database_url=SecretStr(ona_url), **options))
    service = await bootstrap(settings, store=MemoryControlStore(), target=target)
    probe = AmqpProbe(rabbitmq_url)
    await service.start()
    try:
        yield (
            service,
            MessagePublisher(service.transport, service.topology),
            loader_queue(prefix, "ona"),
        )
    finally:
        await service.stop()
        probe.delete(service.topology)


CASE_SELECT = (
    "SELECT case_id, registration_date, case_source, disabled, type_of_case, sex, age,"
    " protection_concerns, placement_type, consent_for_reporting, location_code,"
    " province_current, province_current_code, district_current, district_current_code,"
    " province_caregiver, province_caregiver_code, district_caregiver, district_caregiver_code,"
    " source_last_updated_at FROM cases ORDER BY case_id"
)


def test_ona_is_an_installed_target() -> None:
    assert find_target("ona") is ona_target.build


async def test_reference_samples_give_exact_rows_and_a_rerun_changes_nothing(
    clean: str, rabbitmq_url: str, unique_prefix: str
) -> None:
    commands = [command_for(case) for case in sample_cases()]
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    async with running(rabbitmq_url, unique_prefix, clean) as (_, publisher, queue):
        await publisher.publish_many(commands)
        await wait_for(lambda: count(queue, "handled") == len(commands), timeout_s=20)
        first = rows(clean, "SELECT * FROM cases ORDER BY case_id")
        first_services = rows(clean, "SELECT * FROM services ORDER BY unique_id")
        await publisher.publish_many(commands)  # a re-run
        await wait_for(lambda: count(queue, "superseded") == len(commands), timeout_s=20)
        assert rows(clean, "SELECT * FROM cases ORDER BY case_id") == first
        assert rows(clean, "SELECT * FROM services ORDER BY unique_id") == first_services

    ona = {r[0]: r for r in rows(clean, CASE_SELECT)}
    assert len(ona) == 5
    assert ona["2d3e4f5"] == (
        "2d3e4f5",
        datetime(2023, 11, 2).date(),
        "primero",
        "Vision Disability",
        "children undergoing reintegration",
        "Male",
        12,
        "Abandonment, At risk of child labour",
        "kinship care",
        "t",  # consent_reporting true, as the old adaptor wrote it
        "1070101",
        "province-01",
        "01",
        "district-0107",
        "107",
        "province-10",
        "10",
        "district-1006",
        "1006",
        datetime(2024, 1, 3, 8, 15, tzinfo=UTC),
    )
    # The OSCaR-linked sample: case_source oscar, location 10060805 -> district 1006.
    assert ona["5a04e68"][2] == "oscar"
    assert ona["5a04e68"][11:15] == ("province-10", "10", "district-1006", "1006")
    assert ona["5a04e68"][15:19] == (None, None, None, None)
    # An unknown district (SD0) resolves to NULLs; an unmapped concern leaves an empty slot.
    assert ona["60671ec"][10:15] == ("SD07088", None, None, None, None)
    assert ona["60671ec"][7] == ", "
    (loaded,) = rows(clean, "SELECT min(last_updated_date) FROM cases")[0]
    assert before <= loaded <= datetime.now(UTC).replace(tzinfo=None)
    services = rows(
        clean,
        "SELECT case_id, unique_id, service_type, service_date FROM services"
        " WHERE case_id = '2d3e4f5' ORDER BY unique_id",
    )
    assert services == [
        (
            "2d3e4f5",
            "7a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
            "Family Based Care",
            datetime(2023, 11, 20, tzinfo=UTC),
        ),
        ("2d3e4f5", "8b2c3d4e-5f60-4172-9384-a5b6c7d8e9f0", "Counselling", None),
    ]
    assert rows(clean, "SELECT count(*) FROM services")[0][0] == 8


async def test_an_older_command_never_overwrites_a_newer_row(
    clean: str, rabbitmq_url: str, unique_prefix: str
) -> None:
    newer = command_for(synthetic(1, updated="2024-03-01T00:00:00.000Z", sex="male"))
    older = command_for(synthetic(1, updated="2024-02-01T00:00:00.000Z", sex="female"))
    async with running(rabbitmq_url, unique_prefix, clean) as (_, publisher, queue):
        await publisher.publish(newer)
        await wait_for(lambda: count(queue, "handled") == 1, timeout_s=20)
        await publisher.publish(older)
        await wait_for(lambda: count(queue, "superseded") == 1, timeout_s=20)
        # Both versions in one batch: the newest wins whatever the order.
        await publisher.publish_many(
            [
                command_for(synthetic(2, updated="2024-03-01T00:00:00.000Z", sex="male")),
                command_for(synthetic(2, updated="2024-02-01T00:00:00.000Z", sex="female")),
            ]
        )
        await wait_for(lambda: count(queue, "superseded") == 2, timeout_s=20)
    got = rows(clean, "SELECT case_id, sex, source_last_updated_at FROM cases ORDER BY case_id")
    march = datetime(2024, 3, 1, tzinfo=UTC)
    assert got == [("c000001", "Male", march), ("c000002", "Male", march)]
    assert rows(clean, "SELECT source_last_updated_at FROM services") == [(march,), (march,)]


async def test_a_bad_row_is_dead_lettered_alone_and_the_batch_commits(
    clean: str, rabbitmq_url: str, unique_prefix: str
) -> None:
    good = [command_for(synthetic(n)) for n in range(10, 40)]
    # Passes the loader's checks but PostgreSQL refuses it (NUL in text): found by bisection.
    refused = command_for(synthetic(40, sex="ma\x00le"))
    # Refused by the checks before any I/O (a hand-edited replay, say).
    malformed = good[0].model_copy(
        update={
            "message_id": new_id(),
            "key": {"case_id": "c000041"},
            "payload": {"case": {"case_id": "c000041", "case_source": "x", "age": "ten"}},
        }
    )
    batch = [*good[:15], refused, malformed, *good[15:]]
    async with running(rabbitmq_url, unique_prefix, clean, ona_batch_size=100) as (
        _,
        publisher,
        queue,
    ):
        await publisher.publish_many(batch)
        await wait_for(lambda: count(queue, "handled") == len(good), timeout_s=20)
        await wait_for(lambda: count(queue, "dead_lettered") == 2, timeout_s=20)
        dead = AmqpProbe(rabbitmq_url).drain(f"{queue}.dlq")
    assert rows(clean, "SELECT count(*) FROM cases")[0][0] == len(good)
    reasons = sorted(DeadLetter.from_message(m.body, m.headers).error_message for m in dead)
    assert reasons == [
        "ONA refused the rows of case c000040: - DataError",  # psycopg refuses NUL in text
        "ona case c000041: age is not a whole number in range",
    ]


async def _migrated_ona(url: str) -> str:
    await migrate_ona(url)
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO locations_lookup (code, district, province, province_code)"
            " VALUES (%s, %s, %s, %s)",
            LOCATIONS,
        )
    return url


async def test_a_database_restart_mid_run_ends_with_every_row_once(
    own_postgres: PrivatePostgres, rabbitmq_url: str, unique_prefix: str
) -> None:
    # The test's own cluster: restarting the shared one would break every test running beside.
    clean = await _migrated_ona(own_postgres.create_database("ona"))
    total = 4000
    start = datetime(2024, 2, 1, tzinfo=UTC)
    commands = [
        command_for(
            synthetic(n, updated=(start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"))
        )
        for n in range(total)
    ]
    async with running(
        rabbitmq_url, unique_prefix, clean, ona_batch_size=100, ona_reconnect_s=0.5
    ) as (_, publisher, queue):
        await publisher.publish_many(commands)
        await wait_for(lambda: count(queue, "handled") > 0, timeout_s=20)
        await asyncio.to_thread(own_postgres.restart)
        await wait_for(
            lambda: count(queue, "handled") + count(queue, "superseded") >= total, timeout_s=120
        )
        assert AmqpProbe(rabbitmq_url).depth(f"{queue}.dlq") == 0
    assert rows(clean, "SELECT count(*), count(DISTINCT case_id) FROM cases") == [(total, total)]
    assert rows(clean, "SELECT count(*) FROM services") == [(total,)]
