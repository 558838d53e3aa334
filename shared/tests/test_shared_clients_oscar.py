"""OscarClient against the OSCaR simulator: token reuse, re-sign-in, feed, writes, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from casebridge.clients import AuthenticationFailed, HttpStatusError, OscarClient
from casebridge.clients.oscar import since_date_param
from casebridge.errors import PermanentError, TransientError
from oscar_sim.testing import RunningOscar, running_oscar


@pytest.fixture(scope="module")
def oscar_server() -> Iterator[RunningOscar]:
    with running_oscar() as sim:
        yield sim


def control(sim: RunningOscar, method: str, path: str, body: Any = None) -> Any:
    """The simulator's public control surface (`/__sim/…`)."""
    response = requests.request(method, f"{sim.url}/__sim{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def oscar(oscar_server: RunningOscar) -> RunningOscar:
    control(oscar_server, "POST", "/reset")
    control(oscar_server, "POST", "/seed", {"source": "samples"})
    return oscar_server


@pytest.fixture
async def client(oscar: RunningOscar) -> AsyncIterator[OscarClient]:
    api = OscarClient(oscar.url, user=oscar.email, password=SecretStr(oscar.password), timeout_s=5)
    yield api
    await api.close()


def sign_ins(sim: RunningOscar) -> int:
    return len(control(sim, "GET", "/tokens")["tokens"])


async def test_signs_in_once_and_reuses_the_token(client: OscarClient, oscar: RunningOscar) -> None:
    first = await client.list_clients("2000-01-01 00:00:00")
    for _ in range(3):
        assert await client.list_clients("2000-01-01 00:00:00") == first
    assert len(first) == 5
    assert client.sign_ins == 1
    assert sign_ins(oscar) == 1


async def test_signs_in_again_once_after_forced_expiry(
    client: OscarClient, oscar: RunningOscar
) -> None:
    await client.list_clients()
    control(oscar, "POST", "/tokens/expire", {})
    assert len(await client.list_clients()) == 5
    assert client.sign_ins == 2


async def test_persistent_401_is_authentication_failed(
    client: OscarClient, oscar: RunningOscar
) -> None:
    control(
        oscar, "POST", "/faults", {"path": "/api/v1/organizations/clients", "kind": "expire_token"}
    )
    with pytest.raises(AuthenticationFailed):
        await client.list_clients()
    assert client.sign_ins == 2


async def test_bad_password_is_permanent_and_not_echoed(oscar: RunningOscar) -> None:
    api = OscarClient(oscar.url, user=oscar.email, password=SecretStr("wrong-secret"))
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await api.list_clients()
    finally:
        await api.close()
    assert "Invalid login credentials" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


async def test_429_carries_retry_after(client: OscarClient, oscar: RunningOscar) -> None:
    control(
        oscar,
        "POST",
        "/faults",
        {"path": "/api/v1/organizations/clients", "kind": "throttle", "retry_after": 9, "times": 1},
    )
    with pytest.raises(TransientError) as caught:
        await client.list_clients()
    assert caught.value.retry_after == 9


async def test_503_html_is_transient(client: OscarClient, oscar: RunningOscar) -> None:
    control(
        oscar,
        "POST",
        "/faults",
        {"path": "/api/v1/organizations/clients", "kind": "error", "status": 503, "times": 1},
    )
    with pytest.raises(TransientError) as caught:
        await client.list_clients()
    assert "503" in str(caught.value)
    assert "<html" not in str(caught.value).lower()


async def test_dropped_connection_is_transient(client: OscarClient, oscar: RunningOscar) -> None:
    await client.list_clients()  # signed in
    control(
        oscar, "POST", "/faults", {"path": "/api/v1/organizations/clients/upsert", "kind": "drop"}
    )
    with pytest.raises(TransientError):
        await client.upsert_client({"organization": {"organization_name": "cif"}})


async def test_422_is_permanent_with_the_target_text(client: OscarClient) -> None:
    with pytest.raises(HttpStatusError) as caught:
        await client.upsert_client({"organization": {"given_name": "Secret"}})
    assert isinstance(caught.value, PermanentError)
    assert caught.value.status == 422
    assert "Record error" in str(caught.value)
    assert "Secret" not in str(caught.value)


async def test_update_links_and_statuses(client: OscarClient) -> None:
    feed = await client.list_clients()
    global_id = feed[0]["global_id"]
    answer = await client.update_links(
        {"data": [{"global_id": global_id, "external_id": "c-1", "external_id_display": "d-1"}]}
    )
    assert answer == {"message": "Record saved."}
    with pytest.raises(HttpStatusError) as caught:
        await client.update_statuses(
            {
                "data": [
                    {
                        "client_global_id": global_id,
                        "referral_id": 999999,
                        "referral_status": "Exited",
                    }
                ]
            }
        )
    assert caught.value.status == 422


def test_since_date_is_oscar_text_in_utc() -> None:
    assert since_date_param(date(2026, 3, 1)) == "2026-03-01 00:00:00"
    moment = datetime(2026, 3, 1, 23, 59, 59, 900000, tzinfo=UTC)
    assert since_date_param(moment) == "2026-03-01 23:59:59"
    assert since_date_param("2026-03-01 00:00:00") == "2026-03-01 00:00:00"
