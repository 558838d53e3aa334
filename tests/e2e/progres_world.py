"""Helpers of the proGres end-to-end tests: the inbox service, the DTP simulator pushing to it,
the reference samples, and the DTP settings the progres loader reads (as deployed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL
from dtp_sim.testing import RunningDtp, running_dtp
from inbox.bootstrap import InboxService, bootstrap
from inbox.config import Settings

SAMPLES = Path(__file__).parents[2] / "services/transformer/tests/fixtures"
DTP_HOOK_KEY = "e2e-dtp-hook-key"
PRIMERO_HOOK_KEY = "e2e-primero-hook-key"


def samples(name: str) -> list[dict[str, Any]]:
    """The `record` of every entry of a reference sample file."""
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return [entry["record"] for entry in document["records"]]


@asynccontextmanager
async def running_inbox(
    bus: dict[str, Any], tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[InboxService, str]]:
    """The inbox through its composition root on a free port; yields it and its base URL."""
    settings = Settings(
        **bus,
        inbox_host="127.0.0.1",
        inbox_port=0,
        inbox_dtp_api_key=DTP_HOOK_KEY,
        inbox_primero_api_key=PRIMERO_HOOK_KEY,
        control_database_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        **overrides,
    )
    service = bootstrap(settings)
    await service.start()
    try:
        yield service, f"http://127.0.0.1:{service.bound_port}"
    finally:
        await service.stop()


@pytest.fixture(name="dtp")
def dtp_fixture() -> Iterator[RunningDtp]:
    with running_dtp() as sim:
        yield sim


@pytest.fixture(name="dtp_env")
def dtp_env_fixture(monkeypatch: pytest.MonkeyPatch, dtp: RunningDtp) -> None:
    """What the progres loader reads from the environment."""
    config = dtp.sim.config
    for name, value in {
        "DTP_URL": dtp.base_url,
        "DTP_REFERRAL_SUBSCRIPTION_KEY": dtp.key_for(RECEIVE_INCOMING_REFERRAL),
        "DTP_DECISION_SUBSCRIPTION_KEY": dtp.key_for(RECEIVE_DECISION_OUTGOING_REFERRAL),
        "DTP_CERT_THUMBPRINT_HEADER": config.cert_header,
        "DTP_CERT_THUMBPRINT": config.client_cert_thumbprint,
    }.items():
        monkeypatch.setenv(name, value)


async def push(dtp: RunningDtp, url: str, messages: list[Any], **extra: Any) -> list[Any]:
    """DTP pushes `messages` to the inbox (one request each); returns the push records."""

    def call() -> list[Any]:
        body = {"messages": messages, "url": url, "api_key": DTP_HOOK_KEY, **extra}
        response = requests.post(f"{dtp.url}/__sim/push", json=body, timeout=60)
        response.raise_for_status()
        document = response.json()
        return list(document["results"])

    return await asyncio.to_thread(call)


def received(dtp: RunningDtp, endpoint: str) -> list[dict[str, Any]]:
    """Bodies DTP accepted at `endpoint`, in order."""
    return [r.body for r in dtp.sim.received if r.endpoint == endpoint]
