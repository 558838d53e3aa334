"""PrimeroClient against the Primero simulator: auth regimes, paging, failure classes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import requests
from pydantic import SecretStr

from casebridge.clients import AuthenticationFailed, FilterIgnored, HttpStatusError, PrimeroClient
from casebridge.clients.primero import PrimeroAuth
from casebridge.errors import PermanentError, TransientError
from primero_sim.testing import RunningPrimero, running_primero


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero() as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    primero_server.state.seed_samples()
    return primero_server


def make_client(sim: RunningPrimero, auth: PrimeroAuth = "basic", **kw: object) -> PrimeroClient:
    password = kw.pop("password", sim.password)
    return PrimeroClient(
        sim.base_url,
        user=sim.user_name,
        password=SecretStr(str(password)),
        auth=auth,
        timeout_s=5.0,
    )


@pytest.fixture(params=["basic", "jwt"])
async def client(
    primero: RunningPrimero, request: pytest.FixtureRequest
) -> AsyncIterator[PrimeroClient]:
    api = make_client(primero, request.param)
    yield api
    await api.close()


def logins(sim: RunningPrimero) -> int:
    """Logins the simulator received, read through its public control surface."""
    writes = requests.get(sim.url("/__sim/writes"), timeout=5).json()
    entries = writes["data"] if isinstance(writes, dict) else writes
    return sum(1 for w in entries if w["path"] == "/api/v2/tokens")


async def test_both_auth_regimes_read_cases(client: PrimeroClient, primero: RunningPrimero) -> None:
    page = await client.list_cases(per=5)
    assert page.total == len(primero.state.store)
    assert len(page.records) == min(5, page.total)
    assert logins(primero) == (1 if client.auth == "jwt" else 0)


async def test_jwt_token_is_reused_across_calls(primero: RunningPrimero) -> None:
    api = make_client(primero, "jwt")
    try:
        for _ in range(5):
            await api.list_cases(per=1)
    finally:
        await api.close()
    assert logins(primero) == 1


async def test_jwt_logs_in_again_once_after_forced_expiry(primero: RunningPrimero) -> None:
    api = make_client(primero, "jwt")
    try:
        await api.list_cases(per=1)
        primero.state.auth.expire_all()
        page = await api.list_cases(per=1)
    finally:
        await api.close()
    assert page.total > 0
    assert logins(primero) == 2


async def test_jwt_relogin_on_an_expire_token_fault(primero: RunningPrimero) -> None:
    api = make_client(primero, "jwt")
    try:
        await api.list_cases(per=1)
        primero.state.faults.add({"kind": "expire_token", "path": "/api/v2/cases", "times": 1})
        await api.list_cases(per=1)
    finally:
        await api.close()
    assert logins(primero) == 2


async def test_persistent_401_after_relogin_is_authentication_failed(
    primero: RunningPrimero,
) -> None:
    api = make_client(primero, "jwt")
    primero.state.faults.add({"kind": "expire_token", "path": "/api/v2/cases"})
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await api.list_cases(per=1)
    finally:
        await api.close()
    assert caught.value.status == 401
    assert logins(primero) == 2  # one re-login, not a loop


@pytest.mark.parametrize("auth", ["basic", "jwt"])
async def test_wrong_password_is_permanent_and_never_echoed(
    primero: RunningPrimero, auth: PrimeroAuth
) -> None:
    api = make_client(primero, auth, password="not-the-password")
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await api.list_cases()
    finally:
        await api.close()
    assert "not-the-password" not in str(caught.value)
    assert "not-the-password" not in repr(api)


async def test_pages_through_every_page_keeping_the_filter(primero: RunningPrimero) -> None:
    primero.state.reset()
    primero.state.seed_generated(2500, seed=7)
    expected = {c["id"] for c in primero.state.store.records() if c.get("sex") == "female"}
    assert 1000 < len(expected) < 2500
    api = make_client(primero)
    pages = []
    try:
        async for page in api.iter_case_pages({"sex": "female"}, per=500):
            pages.append(page)
    finally:
        await api.close()
    seen = [c["id"] for page in pages for c in page.records]
    assert set(seen) == expected
    assert len(seen) == len(expected)
    assert [p.page for p in pages] == list(range(1, len(pages) + 1))
    queries = [p.page for p in pages]
    assert len(queries) == -(-len(expected) // 500)


async def test_per_is_capped_at_1000(primero: RunningPrimero) -> None:
    primero.state.reset()
    primero.state.seed_generated(2500, seed=7)
    api = make_client(primero)
    try:
        sizes = [len(p.records) async for p in api.iter_case_pages(per=5000)]
    finally:
        await api.close()
    assert sizes == [1000, 1000, 500]


async def test_429_is_transient_with_retry_after(
    client: PrimeroClient, primero: RunningPrimero
) -> None:
    primero.state.faults.add(
        {"kind": "throttle", "path": "/api/v2/cases", "retry_after": 7, "times": 1}
    )
    with pytest.raises(TransientError) as caught:
        await client.list_cases()
    assert caught.value.retry_after == 7
    assert "429" in str(caught.value)


async def test_503_is_transient_with_retry_after(
    client: PrimeroClient, primero: RunningPrimero
) -> None:
    primero.state.faults.add(
        {"kind": "error", "status": 503, "path": "/api/v2/cases", "retry_after": 3, "times": 1}
    )
    with pytest.raises(TransientError) as caught:
        await client.list_cases()
    assert caught.value.retry_after == 3
    assert (await client.list_cases(per=1)).total > 0  # the next call works


async def test_502_html_page_is_transient(client: PrimeroClient, primero: RunningPrimero) -> None:
    primero.state.faults.add({"kind": "error", "status": 502, "path": "/api/v2/cases", "times": 1})
    with pytest.raises(TransientError) as caught:
        await client.list_cases()
    assert "<" not in str(caught.value)


async def test_dropped_connection_is_transient(
    client: PrimeroClient, primero: RunningPrimero
) -> None:
    # aiohttp itself re-sends an idempotent GET once on a dropped connection, so the fault
    # stays on for the GET; a POST is never re-sent behind the caller's back.
    fault = primero.state.faults.add({"kind": "drop", "path": "/api/v2/cases"})
    with pytest.raises(TransientError):
        await client.list_cases()
    with pytest.raises(TransientError):
        await client.create_case({"module_id": "primeromodule-cp", "name_first": "A"})
    primero.state.faults.remove(fault.id)
    assert (await client.list_cases(per=1)).total > 0


async def test_timeout_is_transient(primero: RunningPrimero) -> None:
    primero.state.faults.add({"kind": "latency", "path": "/api/v2/cases", "latency_ms": 1500})
    api = PrimeroClient(
        primero.base_url,
        user=primero.user_name,
        password=SecretStr(primero.password),
        timeout_s=0.3,
    )
    try:
        with pytest.raises(TransientError, match="timed out"):
            await api.list_cases()
    finally:
        await api.close()


async def test_422_is_permanent_with_the_target_text_and_no_body(client: PrimeroClient) -> None:
    with pytest.raises(HttpStatusError) as caught:
        await client.create_case(
            {
                "module_id": "primeromodule-cp",
                "name_first": "Secret Name",
                "date_of_birth": "2999-01-01",
            }
        )
    assert isinstance(caught.value, PermanentError)
    assert caught.value.status == 422
    assert "date_of_birth" in str(caught.value)
    assert "Secret Name" not in str(caught.value)


async def test_404_is_permanent(client: PrimeroClient) -> None:
    with pytest.raises(HttpStatusError) as caught:
        await client.get_case("00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 404


async def test_writes_and_lookups(client: PrimeroClient, primero: RunningPrimero) -> None:
    created = await client.create_case(
        {"module_id": "primeromodule-cp", "name_first": "A", "oscar_number": "01TESTOSCAR"}
    )
    case_id = created["id"]
    found = await client.find_cases(oscar_number="01TESTOSCAR")
    assert [c["id"] for c in found] == [case_id]
    updated = await client.update_case(case_id, {"mosvy_number": "M-1"})
    assert updated["mosvy_number"] == "M-1"
    assert (await client.get_case(case_id))["mosvy_number"] == "M-1"
    with pytest.raises(PermanentError):
        await client.find_cases(case_id="")


async def test_referrals_list_and_update(client: PrimeroClient, primero: RunningPrimero) -> None:
    case_id, referrals = next(
        (cid, refs)
        for cid, refs in primero.state.store.referrals.items()
        if any(r["status"] == "in_progress" for r in refs)
    )
    listed = await client.list_referrals(case_id)
    assert {r["id"] for r in listed} == {r["id"] for r in referrals}
    open_ref = next(r for r in listed if r["status"] == "in_progress")
    # Primero re-validates consent on every transition save (transition.rb:21).
    consented = {**primero.state.store.get(case_id), "consent_for_services": True}
    primero.state.store.put({**consented, "disclosure_other_orgs": True})
    answer = await client.update_referral(case_id, open_ref["id"], {"status": "accepted"})
    assert answer["status"] == "accepted"


async def test_find_cases_stops_when_primero_dropped_the_filter(
    client: PrimeroClient, primero: RunningPrimero
) -> None:
    """A role that cannot read `oscar_number` gets the whole index back for that filter."""
    primero.state.directory.get(primero.user_name).unreadable_fields = frozenset({"oscar_number"})
    with pytest.raises(FilterIgnored) as caught:
        await client.find_cases(oscar_number="01GA9PSXKEMHVWH7HQZ7XXCRJC")
    assert str(caught.value) == (
        "Primero ignored the filter on oscar_number: the API user's role cannot read that field"
    )


async def test_list_users_reads_every_user(client: PrimeroClient, primero: RunningPrimero) -> None:
    users = await client.list_users()
    assert "primero" in {u["user_name"] for u in users}
