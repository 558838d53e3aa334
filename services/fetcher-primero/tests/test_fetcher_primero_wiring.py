"""The composition root for real: RabbitMQ, a SQLite control store, `--once` semantics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casebridge.control import open_control_store
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.c1_cases import CURSOR
from fetcher_primero.config import Settings
from primero_sim.testing import RunningPrimero, running_primero


@pytest.fixture(scope="module")
def primero() -> Iterator[RunningPrimero]:
    with running_primero(cases=120, seed=11) as sim:
        yield sim


@pytest.mark.integration
async def test_run_once_publishes_to_rabbitmq_and_persists_the_cursor(
    primero: RunningPrimero, rabbitmq_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    settings = Settings(
        rabbitmq_url=rabbitmq_url,
        topology_prefix=unique_prefix,
        queue_type="classic",
        primero_url=primero.base_url,
        primero_user=primero.user_name,
        primero_password=primero.password,
        control_database_url=url,
    )
    assert await bootstrap(settings).run_once() == 120
    assert await bootstrap(settings).run_once() == 0  # the second process dedupes
    store = await open_control_store(url)
    try:
        cursor = await store.get_cursor(CURSOR)
    finally:
        await store.close()
    assert cursor is not None
    assert cursor.value == max(c["last_updated_at"] for c in primero.state.store.records())
