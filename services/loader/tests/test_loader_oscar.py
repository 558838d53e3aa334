"""The OSCaR target through the real loader (bootstrap, Consumer) against the OSCaR simulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from casebridge.messages import UpsertCommand
from casebridge.testing.builders import a_raw_record, an_upsert_command
from loader.guarded import GuardedTarget
from loader.targets.oscar import OscarSettings, build
from oscar_sim.testing import RunningOscar, running_oscar

from .conftest import MemoryControlStore, running_loader, wait_for

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
UPSERT = "/api/v1/organizations/clients/upsert"
LINKS = "/api/v1/organizations/clients/update_links"
STATUSES = "/api/v1/organizations/referrals/update_statuses"
#: A sample client with referrals 1193 (Accepted) and 1194 (Exited).
KNOWN_CLIENT = "01EDN2N13KJQYZJDNNJE68XDQY"


@pytest.fixture(scope="module")
def oscar_server() -> Iterator[RunningOscar]:
    with running_oscar() as sim:
        yield sim


def control(sim: RunningOscar, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{sim.url}/__sim{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def oscar(oscar_server: RunningOscar) -> RunningOscar:
    control(oscar_server, "POST", "/reset")
    control(oscar_server, "POST", "/seed", {"source": "samples"})
    return oscar_server


def writes(sim: RunningOscar, path: str | None = None) -> list[dict[str, Any]]:
    """Writes the simulator received (sign-ins left out), optionally on one path."""
    doc = control(sim, "GET", "/requests")
    entries = doc["requests"] if isinstance(doc, dict) else doc
    return [
        e
        for e in entries
        if "sign_in" not in e["path"] and (path is None or e["path"].rstrip("/") == path)
    ]


def target_for(sim: RunningOscar, store: MemoryControlStore, **overrides: Any) -> GuardedTarget:
    settings = OscarSettings(
        oscar_url=sim.url,
        oscar_user=sim.email,
        oscar_password=SecretStr(sim.password),
        oscar_timeout_s=5,
        **{"target_rate_per_s": 0, "breaker_failures": 5, "breaker_cooldown_s": 0.3, **overrides},
    )
    target = build(store, settings)
    assert isinstance(target, GuardedTarget)
    return target


@pytest.fixture
async def loader(
    oscar: RunningOscar, store: MemoryControlStore, unique_prefix: str
) -> AsyncIterator[Any]:
    async with running_loader(target_for(oscar, store), store, unique_prefix) as running:
        yield running


def referral(external_id: str = "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e") -> dict[str, Any]:
    return {
        "organization": {
            "global_id": "",
            "external_id": external_id,
            "external_id_display": external_id[-7:],
            "given_name": "Sophea",
            "family_name": "Chan",
            "gender": "female",
            "date_of_birth": "2014-01-02",
            "organization_name": "cif",
            "external_case_worker_name": "openfn_cp_user",
            "external_case_worker_mobile": "000000000",
            "level_of_risk": "medium",
            "is_referred": True,
            "services": [
                {"uuid": "f3e2d1c0-b9a8-4765-8432-10fedcba9876", "name": "Trauma counselling"}
            ],
        }
    }


LEGACY_CHILD = "01HLEGACY0000000000000000A"


def child(*services: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A feed-shaped seed record of a child in cif."""
    record = {
        "global_id": LEGACY_CHILD,
        "given_name": "Dara",
        "family_name": "Kim",
        "gender": "female",
        "date_of_birth": "2012-05-01",
        "organization_name": "cif",
        "external_id": "7f1e0c9a-0000-4000-8000-000000000001",
        "services": list(services),
    }
    return record | fields


def upsert_command(
    payload: dict[str, Any], updated_at: datetime = T0, referral_id: str = "r-1"
) -> UpsertCommand:
    organization = payload["organization"]
    raw = a_raw_record(record_id=organization["external_id"], updated_at=updated_at)
    key = {
        "external_id": organization["external_id"],
        "service_uuid": organization["services"][0]["uuid"],
        "referral_id": referral_id,
    }
    return an_upsert_command(
        raw, target="oscar", operation="client_upsert", key=key, payload=payload
    )


def statuses_command(items: list[dict[str, Any]], updated_at: datetime = T0) -> UpsertCommand:
    raw = a_raw_record(record_id="case-1", updated_at=updated_at)
    return an_upsert_command(
        raw,
        target="oscar",
        operation="update_statuses",
        key={"external_id": "case-1"},
        payload={"data": items},
    )


def links_command(global_id: str, external_id: str, updated_at: datetime = T0) -> UpsertCommand:
    raw = a_raw_record(record_id=external_id, updated_at=updated_at)
    item = {"external_id": external_id, "external_id_display": external_id[-7:]}
    item |= {"global_id": global_id, "is_referred": False}
    return an_upsert_command(
        raw,
        target="oscar",
        operation="update_links",
        key={"global_id": global_id},
        payload={"data": [item]},
    )


async def test_client_upsert_sends_the_exact_body_once(loader, oscar, store):
    payload = referral()
    first = upsert_command(payload)
    referrals_before = len(control(oscar, "GET", "/referrals")["referrals"])
    await loader.send(first)
    await wait_for(lambda: loader.finished() == 1)
    [sent] = writes(oscar, UPSERT)
    assert sent["body"] == payload
    assert sent["status"] == 200

    # Redelivery (same message) and a re-run from a newer case version (same key): nothing new.
    await loader.send(first, upsert_command(payload, T0 + timedelta(hours=1)))
    await wait_for(lambda: loader.finished() == 3)
    assert len(writes(oscar, UPSERT)) == 1
    assert loader.counts() == {"handled": 1, "superseded": 2}
    assert store.outcomes() == [
        ("client_upsert", o) for o in ("loaded", "superseded", "superseded")
    ]
    assert len(control(oscar, "GET", "/referrals")["referrals"]) == referrals_before + 1


async def test_a_repeated_first_referral_answered_record_was_found_is_superseded(
    oscar, unique_prefix
):
    payload = referral()
    first = MemoryControlStore()
    async with running_loader(target_for(oscar, first), first, unique_prefix) as loader:
        await loader.send(upsert_command(payload))
        await wait_for(lambda: loader.finished() == 1)
    external_id = payload["organization"]["external_id"]
    mine = [
        r
        for r in control(oscar, "GET", "/referrals")["referrals"]
        if r["external_id"] == external_id
    ]
    control(oscar, "POST", f"/referrals/{mine[0]['id']}/intake", {"status": "Accepted"})

    # A control store that lost its rows (or a crash before remembering): OSCaR refuses.
    fresh = MemoryControlStore()
    async with running_loader(target_for(oscar, fresh), fresh, f"{unique_prefix}b") as loader:
        await loader.send(upsert_command(payload))
        await wait_for(lambda: loader.finished() == 1)
        assert loader.counts() == {"superseded": 1}
        assert loader.dead_letters() == []
    assert [w["status"] for w in writes(oscar, UPSERT)] == [200, 422]
    assert fresh.outcomes() == [("client_upsert", "superseded")]


async def test_update_statuses_and_links_send_their_exact_bodies(loader, oscar):
    items = [{"client_global_id": KNOWN_CLIENT, "referral_id": 1193, "referral_status": "Exited"}]
    links = links_command("01E6AT3BEAFMQDVBHTJHZZ8Y00", "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b")
    await loader.send(statuses_command(items), links)
    await wait_for(lambda: loader.finished() == 2)
    assert [w["body"] for w in writes(oscar, STATUSES)] == [{"data": items}]
    assert [w["body"] for w in writes(oscar, LINKS)] == [links.payload]
    assert loader.counts() == {"handled": 2}


async def test_an_older_command_is_acked_as_superseded(loader, oscar, store):
    newer = links_command("01E6AT3BEAFMQDVBHTJHZZ8Y00", "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b")
    older = links_command(
        "01E6AT3BEAFMQDVBHTJHZZ8Y00", "c3d4e5f6-0718-4293-a4b5-000000000000", T0 - timedelta(days=1)
    )
    await loader.send(newer)
    await wait_for(lambda: loader.finished() == 1)
    await loader.send(older)
    await wait_for(lambda: loader.finished() == 2)
    assert [w["body"] for w in writes(oscar, LINKS)] == [newer.payload]
    assert loader.counts() == {"handled": 1, "superseded": 1}


async def test_a_422_lands_in_the_dlq_with_oscars_text(loader, oscar):
    items = [{"client_global_id": KNOWN_CLIENT, "referral_id": 999999, "referral_status": "Exited"}]
    await loader.send(statuses_command(items))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert dead.error_class == "PermanentError"
    assert "OSCaR refused the status of referral(s) 999999" in dead.error_message
    assert "Couldn't find Referral with 'id'=999999" in dead.error_message
    assert dead.attempts == 1


async def test_a_legacy_referral_without_a_risk_level_dead_letters_with_oscars_text(loader, oscar):
    """oscar-web runs the referral's validations on update_statuses (REAL-SYSTEMS.md)."""
    legacy = {"uuid": "u1", "name": "Kinship care", "referral_id": 4242, "level_of_risk": None}
    control(oscar, "POST", "/seed", {"source": "records", "records": [child(legacy)]})
    items = [{"client_global_id": LEGACY_CHILD, "referral_id": 4242, "referral_status": "Exited"}]
    await loader.send(statuses_command(items))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert "OSCaR refused the status of referral(s) 4242" in dead.error_message
    assert "Level of risk can't be blank" in dead.error_message
    referral = next(r for r in control(oscar, "GET", "/referrals")["referrals"] if r["id"] == 4242)
    assert referral["referral_status"] == "Referred"


def known_child_referral(tenant: str, **fields: Any) -> dict[str, Any]:
    payload = referral()
    payload["organization"] |= {"global_id": KNOWN_CLIENT, "organization_name": tenant, **fields}
    return payload


async def test_a_known_child_without_a_client_in_the_organisation_is_dead_lettered_unsent(
    loader, oscar
):
    """OSCaR would answer 200 and create nothing (the sample child has a client in cif only)."""
    before = len(control(oscar, "GET", "/referrals")["referrals"])
    await loader.send(upsert_command(known_child_referral("tpo")))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert dead.error_class == "NotSent"  # refused before any request: no intent kept
    assert dead.error_message.startswith(
        f"OSCaR would create nothing: child {KNOWN_CLIENT} (case 8c1f5e2a-7d3b-4a9c-b6e0-"
        "1f2a3b4c5d6e) has no client in organisation tpo"
    )
    assert writes(oscar, UPSERT) == []
    assert len(control(oscar, "GET", "/referrals")["referrals"]) == before


async def test_a_known_child_referral_fills_blanks_from_oscar_and_creates_one_referral(
    loader, oscar, store
):
    """Blank case fields are sent with OSCaR's current values, so none is wiped."""
    payload = known_child_referral("cif", gender="", mosvy_number="", date_of_birth="")
    clients = control(oscar, "GET", "/clients")["clients"]
    (current,) = [c for c in clients if c["global_id"] == KNOWN_CLIENT]
    before = len(control(oscar, "GET", "/referrals")["referrals"])
    await loader.send(upsert_command(payload))
    await wait_for(lambda: loader.finished() == 1)
    assert loader.dead_letters() == []
    [sent] = writes(oscar, UPSERT)
    assert sent["status"] == 200
    assert sent["body"]["organization"]["gender"] == current["gender"]
    assert sent["body"]["organization"]["date_of_birth"] == current["date_of_birth"]
    assert "mosvy_number" not in sent["body"]["organization"]  # blank in OSCaR too
    (after,) = [
        c for c in control(oscar, "GET", "/clients")["clients"] if c["global_id"] == KNOWN_CLIENT
    ]
    assert (after["gender"], after["date_of_birth"]) == (
        current["gender"],
        current["date_of_birth"],
    )
    assert len(control(oscar, "GET", "/referrals")["referrals"]) == before + 1
    assert store.outcomes() == [("client_upsert", "loaded")]


async def test_a_known_child_without_a_gender_is_dead_lettered_unsent(loader, oscar):
    """Two clients that disagree: unknown which one OSCaR updates, so no gender to send."""
    control(
        oscar,
        "POST",
        "/seed",
        {"source": "records", "records": [child(), child(gender="male", organization_name="tpo")]},
    )
    payload = referral()
    payload["organization"] |= {"global_id": LEGACY_CHILD, "gender": ""}
    await loader.send(upsert_command(payload))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert f"OSCaR requires a gender for child {LEGACY_CHILD}" in dead.error_message
    assert writes(oscar, UPSERT) == []


async def test_a_503_for_a_while_ends_with_everything_loaded_and_an_empty_dlq(loader, oscar):
    control(
        oscar,
        "POST",
        "/faults",
        {"path": f"{LINKS}*", "kind": "error", "status": 503, "times": 3},
    )
    commands = [links_command(f"01E6AT3BEAFMQDVBHTJHZZ8Y0{n}", f"case-{n}") for n in range(3)]
    await loader.send(*commands)
    await wait_for(lambda: loader.count("handled") == 3)
    assert loader.dead_letters() == []
    assert loader.count("retried") == 3
    statuses = [w["status"] for w in writes(oscar, LINKS)]
    assert statuses.count(503) == 3
    assert statuses.count(200) == 3


async def test_the_circuit_opens_parks_without_burning_attempts_and_closes(
    oscar, store, unique_prefix
):
    target = target_for(oscar, store, breaker_failures=2, breaker_cooldown_s=0.3)
    control(
        oscar,
        "POST",
        "/faults",
        {"path": f"{LINKS}*", "kind": "error", "status": 503, "times": 4},
    )
    commands = [links_command(f"01E6AT3BEAFMQDVBHTJHZZ8Y0{n}", f"case-{n}") for n in range(6)]
    # Three attempts at most: burning one per failure, six failures would dead-letter something.
    # One command at a time, so the breaker sees failures in order (it opens after two).
    async with running_loader(
        target, store, unique_prefix, max_attempts=3, concurrency=1
    ) as loader:
        await loader.send(*commands)
        await wait_for(lambda: loader.count("handled") == 6, timeout_s=10)
        assert loader.count("parked") >= 1
        assert loader.dead_letters() == []
        assert target.breaker.state.value == "closed"
        # The changes reached the control store (what `casebridge status` reads), not each call.
        states = [r.state for r in store.breaker_writes]
        assert states[0] == "closed"
        assert "open" in states
        assert states[-1] == "closed"
        assert len(states) < 10
        opened = next(r for r in store.breaker_writes if r.state == "open")
        assert (opened.target, opened.last_error_class) == ("oscar", "TransientHttpError")
    assert await store.list_breakers() == []  # stopped cleanly: its row is gone
    statuses = [w["status"] for w in writes(oscar, LINKS)]
    assert statuses.count(503) == 4
    assert statuses.count(200) == 6


async def test_the_rate_limit_is_respected(oscar, store, unique_prefix):
    # The OSCaR target's rate is its request budget's (one request in flight: a burst of 1).
    target = target_for(oscar, store, oscar_max_requests_per_s=20, oscar_max_concurrent_requests=1)
    commands = [links_command(f"01E6AT3BEAFMQDVBHTJHZZ8Y{n:02d}", f"case-{n}") for n in range(11)]
    async with running_loader(target, store, unique_prefix) as loader:
        started = time.monotonic()
        await loader.send(*commands)
        await wait_for(lambda: loader.count("handled") == 11)
        elapsed = time.monotonic() - started
    # The sign-in at once, then 11 writes at 20/s.
    assert elapsed >= 0.48
    assert len(writes(oscar, LINKS)) == 11
