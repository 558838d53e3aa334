from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casebridge.testing.amqp_probe import AmqpProbe

from .admin_helpers import Admin, make_admin


@pytest.fixture
def admin(
    rabbitmq_url: str,
    unique_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Admin]:
    """The admin command pointed at a fresh topology and a SQLite control store."""
    made = make_admin(rabbitmq_url, unique_prefix, tmp_path, monkeypatch, capsys)
    try:
        yield made
    finally:
        AmqpProbe(rabbitmq_url).delete(made.topology)
