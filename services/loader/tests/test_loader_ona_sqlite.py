"""The `ona` target on a SQLite file (the local mode's ONA database), through the real loader
over the in-process broker: exact rows, re-runs, the stale-write guard, the lookup join."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.ids import new_id
from casebridge.messages import RawRecord, SourceRef, UpsertCommand
from loader.ona.migrate import migrate_ona
from loader.ona.writer import is_sqlite
from loader.targets.ona import OnaSettings, OnaTarget
from transformer.ona import load_ona_tables, map_o1

from .conftest import MemoryControlStore, running_loader, wait_for

SAMPLES = (
    Path(__file__).resolve().parents[2]
    / "transformer"
    / "tests"
    / "fixtures"
    / "primero-cases.json"
)
LOCATIONS = [
    ("107", "district-0107", "province-01", "01"),
    ("1006", "district-1006", "province-10", "10"),
]


def command_for(case: dict[str, Any]) -> UpsertCommand:
    source = SourceRef(
        system="primero",
        record_type="case",
        record_id=str(case["id"]),
        updated_at=case["last_updated_at"],
    )
    raw = RawRecord.of(flow="o1", source=source, payload=case, producer="tests")
    [command] = map_o1(raw, load_ona_tables())
    return command


def sample_cases() -> list[dict[str, Any]]:
    document = json.loads(SAMPLES.read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


def synthetic(n: int, updated: str, **over: Any) -> dict[str, Any]:
    case = {
        "id": f"uuid-{n:06d}",
        "case_id_display": f"c{n:06d}",
        "registration_date": "2024-01-15",
        "sex": "female",
        "age": n % 18,
        "location_current": "1070101",
        "services_section": [{"unique_id": f"svc-{n:06d}", "service_type": "counselling"}],
        "last_updated_at": updated,
    }
    return case | over


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def ona_file(tmp_path: Path) -> Path:
    """A migrated SQLite ONA database (in a folder that did not exist) with lookup rows."""
    path = tmp_path / "nested" / "ona.db"
    asyncio.run(migrate_ona(f"sqlite:///{path}"))
    asyncio.run(migrate_ona(f"sqlite:///{path}"))  # idempotent
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO locations_lookup VALUES (?, ?, ?, ?)", LOCATIONS)
    return path


def target_for(path: Path) -> OnaTarget:
    settings = OnaSettings(
        ona_database_url=SecretStr(f"sqlite+aiosqlite:///{path}"),
        ona_batch_size=50,
        ona_batch_window_ms=10,
        ona_migrate=True,
    )
    return OnaTarget(settings)


def test_sqlite_urls_are_recognised() -> None:
    assert is_sqlite("sqlite:///.local/ona.db")
    assert is_sqlite("sqlite+aiosqlite:////tmp/ona.db")
    assert not is_sqlite("postgresql://postgres@127.0.0.1/ona")


async def test_samples_give_the_rows_and_a_rerun_changes_nothing(ona_file: Path) -> None:
    commands = [command_for(case) for case in sample_cases()]
    async with running_loader(target_for(ona_file), MemoryControlStore(), new_id()) as loader:
        await loader.send(*commands)
        await wait_for(lambda: loader.count("handled") == len(commands), timeout_s=10)
        first = rows(ona_file, "SELECT * FROM cases ORDER BY case_id")
        first_services = rows(ona_file, "SELECT * FROM services ORDER BY unique_id")
        await loader.send(*commands)
        await wait_for(lambda: loader.count("superseded") == len(commands), timeout_s=10)
        assert rows(ona_file, "SELECT * FROM cases ORDER BY case_id") == first
        assert rows(ona_file, "SELECT * FROM services ORDER BY unique_id") == first_services

    by_id = {
        r[0]: r
        for r in rows(
            ona_file,
            "SELECT case_id, registration_date, case_source, sex, age, location_code,"
            " province_current, district_current_code, district_caregiver_code,"
            " source_last_updated_at FROM cases",
        )
    }
    assert len(by_id) == 5
    assert by_id["2d3e4f5"] == (
        "2d3e4f5",
        "2023-11-02",
        "primero",
        "Male",
        12,
        "1070101",
        "province-01",
        "107",
        "1006",
        "2024-01-03 08:15:00.000000",
    )
    assert by_id["60671ec"][6:8] == (None, None)  # an unknown district resolves to NULLs
    assert rows(ona_file, "SELECT count(*) FROM services") == [(8,)]
    assert rows(
        ona_file,
        "SELECT unique_id, service_type, service_date FROM services"
        " WHERE case_id = '2d3e4f5' ORDER BY unique_id",
    ) == [
        ("7a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9", "Family Based Care", "2023-11-20 00:00:00.000000"),
        ("8b2c3d4e-5f60-4172-9384-a5b6c7d8e9f0", "Counselling", None),
    ]


async def test_an_older_version_never_overwrites_a_newer_row(ona_file: Path) -> None:
    march, february = "2024-03-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"
    async with running_loader(target_for(ona_file), MemoryControlStore(), new_id()) as loader:
        await loader.send(command_for(synthetic(1, march, sex="male")))
        await wait_for(lambda: loader.count("handled") == 1)
        await loader.send(command_for(synthetic(1, february, sex="female")))
        await wait_for(lambda: loader.count("superseded") == 1)
        # Both versions in one batch: the newest wins whatever the order.
        await loader.send(
            command_for(synthetic(2, march, sex="male")),
            command_for(synthetic(2, february, sex="female")),
        )
        await wait_for(lambda: loader.count("superseded") == 2)
        # Same version, values changed (a replay after a mapping fix): written.
        await loader.send(command_for(synthetic(2, march, sex="female")))
        await wait_for(lambda: loader.count("handled") == 3)
    assert rows(ona_file, "SELECT case_id, sex, source_last_updated_at FROM cases") == [
        ("c000001", "Male", "2024-03-01 00:00:00.000000"),
        ("c000002", "Female", "2024-03-01 00:00:00.000000"),
    ]
