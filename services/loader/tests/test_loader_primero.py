"""The Primero target through the real loader (bootstrap, Consumer) against its simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.messages import UpsertCommand
from casebridge.testing.builders import a_raw_record, an_upsert_command
from loader.guarded import GuardedTarget
from loader.targets.primero import PrimeroSettings, build
from primero_sim.testing import RunningPrimero, running_primero

from .conftest import MemoryControlStore, running_loader, wait_for

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
CP = "primeromodule-cp"
PENDING = "pending_310366"
ACCEPTED = "accepted_340953"
#: Lowercase UUIDs for service rows (Primero rejects anything else).
S1, S2, S3 = (f"0000000{n}-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero(auth_regime="jwt") as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    return primero_server


@pytest.fixture
async def api(primero: RunningPrimero) -> AsyncIterator[PrimeroClient]:
    """A client for arranging cases (its writes are cleared before the loader runs)."""
    client = PrimeroClient(
        primero.base_url, user=primero.user_name, password=SecretStr(primero.password)
    )
    yield client
    await client.close()


def writes(sim: RunningPrimero) -> list[dict[str, Any]]:
    entries = requests.get(sim.url("/__sim/writes"), timeout=5).json()["data"]
    return [{"method": e["method"], "path": e["path"], "body": e["body"]} for e in entries]


def clear_writes(sim: RunningPrimero) -> None:
    requests.delete(sim.url("/__sim/writes"), timeout=5).raise_for_status()


def target_for(sim: RunningPrimero, store: MemoryControlStore, **overrides: Any) -> GuardedTarget:
    settings = PrimeroSettings(
        primero_url=sim.base_url,
        primero_user=sim.user_name,
        primero_password=SecretStr(sim.password),
        primero_timeout_s=5,
        **{"target_rate_per_s": 0, "breaker_failures": 5, "breaker_cooldown_s": 0.3, **overrides},
    )
    target = build(store, settings)
    assert isinstance(target, GuardedTarget)
    return target


@pytest.fixture
async def loader(
    primero: RunningPrimero, store: MemoryControlStore, unique_prefix: str
) -> AsyncIterator[Any]:
    async with running_loader(target_for(primero, store), store, unique_prefix) as running:
        yield running


def command(
    operation: str,
    key: dict[str, str],
    payload: dict[str, Any],
    updated_at: datetime | None = T0,
    flow: str = "c2",
) -> UpsertCommand:
    raw = a_raw_record(
        flow=flow, system="oscar", record_type="client", record_id="01CLIENT", updated_at=updated_at
    )
    return an_upsert_command(raw, target="primero", operation=operation, key=key, payload=payload)


async def a_case(api: PrimeroClient, **fields: Any) -> dict[str, Any]:
    """Create a case; returns it as stored (id, case_id, ...)."""
    created = await api.create_case({"module_id": CP, **fields})
    return await api.get_case(created["id"])


# -- case_update (C0) ---------------------------------------------------------------------


async def test_case_update_patches_the_case_found_by_case_id(loader, primero, api, store):
    case = await a_case(api, name_first="A")
    clear_writes(primero)
    data = {"case_id": case["case_id"], "oscar_number": "01OSCAR", "oscar_short_id": "abcd-1"}
    cmd = command("case_update", {"case_id": case["case_id"]}, {"data": data}, flow="c0")
    await loader.send(cmd)
    await wait_for(lambda: loader.finished() == 1)
    assert writes(primero) == [
        {"method": "PATCH", "path": f"/api/v2/cases/{case['id']}", "body": {"data": data}}
    ]
    assert (await api.get_case(case["id"]))["oscar_number"] == "01OSCAR"
    assert store.lineage[0].target_id == case["id"]

    await loader.send(cmd)  # redelivered: nothing new
    await wait_for(lambda: loader.finished() == 2)
    assert len(writes(primero)) == 1
    assert loader.counts() == {"handled": 1, "superseded": 1}


async def test_case_update_never_creates(loader, primero):
    cmd = command(
        "case_update", {"case_id": "nosuchcase"}, {"data": {"oscar_number": "01X"}}, flow="c0"
    )
    await loader.send(cmd)
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert "no Primero case with case_id nosuchcase" in dead.error_message
    assert writes(primero) == []


# -- case_upsert (C2) ---------------------------------------------------------------------


async def test_case_upsert_creates_when_nothing_matches_then_patches_it(loader, primero, api):
    data = {"oscar_number": "01NEW", "name_first": "B", "module_id": CP, "risk_level": "high"}
    await loader.send(command("case_upsert", {"oscar_number": "01NEW"}, {"data": data}))
    await wait_for(lambda: loader.finished() == 1)
    [created] = writes(primero)
    assert created == {"method": "POST", "path": "/api/v2/cases", "body": {"data": data}}

    later = {**data, "risk_level": "low"}
    newer = command("case_upsert", {"oscar_number": "01NEW"}, {"data": later}, T0 + timedelta(1))
    await loader.send(newer)
    await wait_for(lambda: loader.finished() == 2)
    [case] = await api.find_cases(oscar_number="01NEW")
    assert writes(primero)[1] == {
        "method": "PATCH",
        "path": f"/api/v2/cases/{case['id']}",
        "body": {"data": later},
    }
    assert case["risk_level"] == "low"


async def test_case_upsert_by_case_id_else_by_oscar_number(loader, primero, api):
    linked = await a_case(api, name_first="L")
    by_number = await a_case(api, name_first="N", oscar_number="01NUM")
    clear_writes(primero)
    first = command("case_upsert", {"case_id": linked["case_id"]}, {"data": {"mosvy_number": "M1"}})
    second = command(
        "case_upsert",
        {"oscar_number": "01NUM"},
        {"data": {"oscar_number": "01NUM", "mosvy_number": "M2"}},
    )
    await loader.send(first, second)
    await wait_for(lambda: loader.finished() == 2)
    assert sorted(w["path"] for w in writes(primero)) == sorted(
        f"/api/v2/cases/{c['id']}" for c in (linked, by_number)
    )
    assert (await api.get_case(by_number["id"]))["mosvy_number"] == "M2"


async def test_several_matches_go_to_the_dlq_naming_the_cases(loader, primero, api):
    one = await a_case(api, name_first="X", oscar_number="01DUP")
    two = await a_case(api, name_first="Y", oscar_number="01DUP")
    clear_writes(primero)
    await loader.send(command("case_upsert", {"oscar_number": "01DUP"}, {"data": {"age": 9}}))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert dead.error_class == "PermanentError"
    assert "several Primero cases with oscar_number 01DUP" in dead.error_message
    for case in (one, two):
        assert case["case_id"] in dead.error_message
        assert case["id"] in dead.error_message
    assert writes(primero) == []


async def test_a_case_found_by_oscar_number_with_another_case_id_is_refused(loader, primero, api):
    other = await a_case(api, name_first="Z", oscar_number="01CONFLICT")
    clear_writes(primero)
    data = {"case_id": "linked-elsewhere", "oscar_number": "01CONFLICT"}
    await loader.send(command("case_upsert", {"case_id": "linked-elsewhere"}, {"data": data}))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert other["case_id"] in dead.error_message
    assert "linked-elsewhere" in dead.error_message
    assert writes(primero) == []


async def test_an_older_command_is_acked_as_superseded(loader, primero, api):
    case = await a_case(api, name_first="O")
    clear_writes(primero)
    key = {"case_id": case["case_id"]}
    await loader.send(command("case_upsert", key, {"data": {"mosvy_number": "new"}}, T0))
    await wait_for(lambda: loader.finished() == 1)
    old = command("case_upsert", key, {"data": {"mosvy_number": "old"}}, T0 - timedelta(hours=1))
    await loader.send(old)
    await wait_for(lambda: loader.finished() == 2)
    assert loader.counts() == {"handled": 1, "superseded": 1}
    assert len(writes(primero)) == 1
    assert (await api.get_case(case["id"]))["mosvy_number"] == "new"


async def test_a_422_lands_in_the_dlq_with_primeros_text(loader, primero, api):
    case = await a_case(api, name_first="V")
    clear_writes(primero)
    bad = {"services_section": [{"unique_id": "NOT-A-UUID"}]}
    await loader.send(command("case_upsert", {"case_id": case["case_id"]}, {"data": bad}))
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert "answered 422" in dead.error_message
    assert "Invalid Record JSON" in dead.error_message
    assert "/services_section/0/unique_id" in dead.error_message


async def test_a_503_for_a_while_ends_with_everything_loaded_and_an_empty_dlq(loader, primero, api):
    cases = [await a_case(api, name_first=f"R{n}") for n in range(3)]
    clear_writes(primero)
    primero.state.faults.add(
        {"kind": "error", "status": 503, "path": "/api/v2/cases", "times": 3, "retry_after": 0}
    )
    await loader.send(
        *(
            command("case_update", {"case_id": c["case_id"]}, {"data": {"mosvy_number": "M"}})
            for c in cases
        )
    )
    await wait_for(lambda: loader.count("handled") == 3)
    assert loader.dead_letters() == []
    assert loader.count("retried") == 3
    assert len(writes(primero)) == 3


# -- service_status_fill ------------------------------------------------------------------


async def test_the_pending_fill_touches_only_rows_without_a_status(loader, primero, api):
    rows = [
        {"unique_id": S1, "service_response_type": "referral_from_oscar"},
        {
            "unique_id": S2,
            "service_response_type": "referral_from_oscar",
            "referral_status_edf41f2": ACCEPTED,
        },
    ]
    case = await a_case(api, name_first="F", oscar_number="01FILL", services_section=rows)
    clear_writes(primero)
    fill = {
        "services_section": [
            {"unique_id": S1, "referral_status_edf41f2": PENDING},
            {"unique_id": S2, "referral_status_edf41f2": PENDING},
        ]
    }
    cmd = command("service_status_fill", {"oscar_number": "01FILL"}, {"data": fill})
    await loader.send(cmd)
    await wait_for(lambda: loader.finished() == 1)
    assert writes(primero) == [
        {
            "method": "PATCH",
            "path": f"/api/v2/cases/{case['id']}",
            "body": {"data": {"services_section": [fill["services_section"][0]]}},
        }
    ]
    statuses = {
        r["unique_id"]: r.get("referral_status_edf41f2")
        for r in (await api.get_case(case["id"]))["services_section"]
    }
    assert statuses == {S1: PENDING, S2: ACCEPTED}

    # A re-run from a newer fetch (new message id): nothing left to fill, nothing sent.
    await loader.send(
        command(
            "service_status_fill", {"oscar_number": "01FILL"}, {"data": fill}, T0 + timedelta(1)
        )
    )
    await wait_for(lambda: loader.finished() == 2)
    assert len(writes(primero)) == 1


# -- referral_decision --------------------------------------------------------------------


def decision(
    referral_id: str | None, subtype: str | None, status: str = "accepted"
) -> dict[str, Any]:
    service: dict[str, Any] = {"referral_status_edf41f2": ACCEPTED}
    if referral_id:
        service["oscar_referral_id_a4ac8a5"] = referral_id
    return {
        "oscar_referral_id": referral_id,
        "service_subtype": subtype,
        "service": service,
        "referral": {"data": {"status": status, "type": "Referral", "record_type": "case"}},
    }


async def test_referral_decision_patches_the_matched_referral_and_service(loader, primero, api):
    to_oscar = {"service_response_type": "referral_to_oscar", "referral_status_edf41f2": PENDING}
    rows = [
        {"unique_id": S1, "service_subtype": ["counselling"], **to_oscar},
        {"unique_id": S2, "service_subtype": ["foster_care"], **to_oscar},
        {"unique_id": S3, "service_subtype": [], **to_oscar},
    ]
    case = await a_case(
        api,
        name_first="D",
        services_section=rows,
        consent_for_services=True,
        disclosure_other_orgs=True,
    )
    session = requests.Session()
    session.auth = primero.auth
    referral_ids = {}
    for row in rows:
        answer = session.post(
            primero.url(f"/api/v2/cases/{case['id']}/referrals"),
            json={
                "data": {
                    "remote": True,
                    "transitioned_to_remote": "oscar",
                    "service_record_id": row["unique_id"],
                }
            },
            timeout=5,
        )
        answer.raise_for_status()
        referral_ids[row["unique_id"]] = answer.json()["data"]["id"]
    clear_writes(primero)

    decisions = [
        decision("1200", "foster_care"),  # (b) by subtype
        decision("1201", None),  # (c) Not Specified -> the empty-subtype row
        decision("9999", "nosuchsubtype"),  # unmatched: skipped
    ]
    cmd = command("referral_decision", {"case_id": case["case_id"]}, {"decisions": decisions})
    await loader.send(cmd)
    await wait_for(lambda: loader.finished() == 1)
    assert loader.counts() == {"handled": 1}
    base = f"/api/v2/cases/{case['id']}"
    referral_body = {"status": "accepted", "type": "Referral", "record_type": "case"}
    assert writes(primero) == [
        {
            "method": "PATCH",
            "path": f"{base}/referrals/{referral_ids[S2]}",
            "body": {"data": {**referral_body, "id": referral_ids[S2], "record_id": case["id"]}},
        },
        {
            "method": "PATCH",
            "path": f"{base}/referrals/{referral_ids[S3]}",
            "body": {"data": {**referral_body, "id": referral_ids[S3], "record_id": case["id"]}},
        },
        {
            "method": "PATCH",
            "path": base,
            "body": {
                "data": {
                    "services_section": [
                        {"unique_id": S2, **decisions[0]["service"]},
                        {"unique_id": S3, **decisions[1]["service"]},
                    ]
                }
            },
        },
    ]
    stored = {r["unique_id"]: r for r in (await api.get_case(case["id"]))["services_section"]}
    assert stored[S1]["referral_status_edf41f2"] == PENDING
    assert stored[S2]["oscar_referral_id_a4ac8a5"] == "1200"

    # A re-run from a newer fetch: referrals no longer in progress, rows already decided.
    again = command(
        "referral_decision",
        {"case_id": case["case_id"]},
        {"decisions": decisions},
        T0 + timedelta(1),
    )
    await loader.send(again)
    await wait_for(lambda: loader.finished() == 2)
    assert len(writes(primero)) == 3


async def test_referral_decision_for_an_unknown_case_goes_to_the_dlq(loader, primero):
    await loader.send(
        command("referral_decision", {"case_id": "nosuch"}, {"decisions": [decision("1", None)]})
    )
    await wait_for(lambda: loader.finished() == 1)
    [dead] = loader.dead_letters()
    assert "no Primero case with case_id nosuch" in dead.error_message
