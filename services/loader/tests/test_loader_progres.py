"""P1/P4 on the Primero target and the progres target against the DTP simulator (real loader,
in-process broker): exact bodies, one service row per intervention, feedback follow-ups, the
DTP credentials, sent-once keys, errors without payloads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.clients import PrimeroClient
from casebridge.errors import TargetUnavailable
from casebridge.messages import UpsertCommand, default_registry
from casebridge.testing.builders import a_raw_record, an_upsert_command
from dtp_sim.testing import RunningDtp, running_dtp
from loader.guarded import GuardedTarget
from loader.targets import primero as primero_target
from loader.targets import progres as progres_target
from primero_sim.testing import RunningPrimero, running_primero

from .conftest import MemoryControlStore, running_loader, wait_for

INTAKE = "progresv4_primero_intake"
N1, N2 = "989-25-PRTITV-0000001", "989-25-PRTITV-0000002"
ROW1 = "11111111-1111-4111-8111-111111111111"
RIR, RDOR = "ReceiveIncomingReferral", "ReceiveDecisionOutgoingReferral"


@pytest.fixture(scope="module")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero(auth_regime="jwt") as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    return primero_server


@pytest.fixture
def dtp() -> Iterator[RunningDtp]:
    with running_dtp() as sim:
        yield sim


@pytest.fixture
async def api(primero: RunningPrimero) -> AsyncIterator[PrimeroClient]:
    client = PrimeroClient(
        primero.base_url, user=primero.user_name, password=SecretStr(primero.password)
    )
    yield client
    await client.close()


def primero_loader(sim: RunningPrimero, store: MemoryControlStore) -> GuardedTarget:
    settings = primero_target.PrimeroSettings(
        primero_url=sim.base_url,
        primero_user=sim.user_name,
        primero_password=SecretStr(sim.password),
        target_rate_per_s=0,
    )
    target = primero_target.build(store, settings)
    assert isinstance(target, GuardedTarget)
    return target


def progres_loader(dtp: RunningDtp, store: MemoryControlStore, **overrides: Any) -> GuardedTarget:
    config = dtp.sim.config
    values: dict[str, Any] = {
        "dtp_url": dtp.base_url,
        "dtp_referral_subscription_key": SecretStr(dtp.key_for(RIR)),
        "dtp_decision_subscription_key": SecretStr(dtp.key_for(RDOR)),
        "dtp_cert_thumbprint_header": config.cert_header,
        "dtp_cert_thumbprint": SecretStr(config.client_cert_thumbprint),
        "target_rate_per_s": 0,
        "breaker_cooldown_s": 0.2,
        **overrides,
    }
    target = progres_target.build(store, progres_target.ProgresSettings(**values))
    assert isinstance(target, GuardedTarget)
    return target


def command(target: str, operation: str, key: dict[str, str], payload: dict[str, Any]) -> Any:
    version = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    raw = a_raw_record(
        flow="p1", system="dtp", record_type="referral", record_id=f"{key_text(key)}@{version}"
    )
    return an_upsert_command(raw, target=target, operation=operation, key=key, payload=payload)


def key_text(key: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(key.items()))


def case_data(*numbers: str, **fields: Any) -> dict[str, Any]:
    return {
        "unhcr_individual_no": "989-00000226",
        "name_first": "Alfred",
        "status": "open",
        "owned_by": INTAKE,
        "module_id": "primeromodule-cp",
        "services_section": [
            {
                "unique_id": ROW1 if n == N1 else "22222222-2222-4222-8222-222222222222",
                "service_type": "alternative_care",
                "service_referral": "external_referral",
                "unhcr_referral_status": "pending",
                "progres_interventionnumber": n,
            }
            for n in numbers
        ],
        **fields,
    }


def follow_ups(loader: Any, prefix: str) -> list[UpsertCommand]:
    queue = loader.transport.broker.queues[f"{prefix}.loader.progres"]
    registry = default_registry()
    return [registry.decode(m.body) for m in queue.messages]


async def test_p1_creates_then_updates_one_row_per_intervention_with_feedback(
    primero: RunningPrimero, api: PrimeroClient, store: MemoryControlStore, unique_prefix: str
) -> None:
    key = {"unhcr_individual_no": "989-00000226"}
    async with running_loader(primero_loader(primero, store), store, unique_prefix) as loader:
        await loader.send(command("primero", "progres_case_upsert", key, {"data": case_data(N1)}))
        await wait_for(lambda: loader.finished() == 1)
        [case] = await api.find_cases(unhcr_individual_no="989-00000226")
        full = await api.get_case(case["id"])
        # UNICEF decides; then DTP sends the same intervention again plus a new one.
        await api.update_case(
            case["id"],
            {"services_section": [{"unique_id": ROW1, "unhcr_referral_status": "accepted"}]},
        )
        again = case_data(N1, N2, owned_by="someone_else", name_first="Alfredo")
        await loader.send(command("primero", "progres_case_upsert", key, {"data": again}))
        await wait_for(lambda: loader.finished() == 2)

        assert loader.counts() == {"handled": 2}
        after = await api.get_case(case["id"])
        rows = {r["progres_interventionnumber"]: r for r in after["services_section"]}
        assert sorted(rows) == [N1, N2]
        assert len(after["services_section"]) == 2
        assert rows[N1]["unhcr_referral_status"] == "accepted"
        assert after["owned_by"] == full["owned_by"]
        assert after["name_first"] == "Alfredo"
        feedback = [c.payload["body"] for c in follow_ups(loader, unique_prefix)]
        assert feedback == [
            {
                "status": "Pending Acknowledgement",
                "primero_user": full["owned_by"],
                "case_id": full["case_id"],
                "progres_interventionnumber": n,
            }
            for n in (N1, N1, N2)
        ]


async def test_p1_several_cases_with_one_unhcr_number_is_dead_lettered_naming_them(
    primero: RunningPrimero, api: PrimeroClient, store: MemoryControlStore, unique_prefix: str
) -> None:
    for _ in range(2):
        await api.create_case({"module_id": "primeromodule-cp", "unhcr_individual_no": "989-X"})
    key = {"unhcr_individual_no": "989-X"}
    data = case_data(N1, unhcr_individual_no="989-X")
    async with running_loader(primero_loader(primero, store), store, unique_prefix) as loader:
        await loader.send(command("primero", "progres_case_upsert", key, {"data": data}))
        await wait_for(lambda: loader.finished() == 1)
        [dead] = loader.dead_letters()
        assert "several Primero cases with unhcr_individual_no 989-X" in dead.error_message
        assert follow_ups(loader, unique_prefix) == []


async def _case_with_a_unhcr_referral(api: PrimeroClient) -> dict[str, Any]:
    """A case with one service referred to UNHCR, arranged the way a Primero user does."""
    created = await api.create_case(
        {
            "module_id": "primeromodule-cp",
            "consent_for_services": True,
            "services_section": [{"unique_id": ROW1, "service_implementing_agency": "UNHCR"}],
        }
    )
    case = await api.get_case(created["id"])
    await api._call(
        "POST",
        f"/api/v2/cases/{case['id']}/referrals",
        json={
            "data": {
                "transitioned_to": "unhcr_cw",
                "service_record_id": ROW1,
                "consent_overridden": True,
            }
        },
    )
    return case


async def test_p4_patches_the_in_progress_referral_matched_by_suffix(
    primero: RunningPrimero, api: PrimeroClient, store: MemoryControlStore, unique_prefix: str
) -> None:
    case = await _case_with_a_unhcr_referral(api)
    [created_referral] = await api.list_referrals(case["id"])
    referral_id = created_referral["id"]
    decision = {
        "service_suffix": ROW1[-12:],
        "progres_interoperabilityreferralnumber": "REF-IOP-1",
        "data": {
            "status": "rejected",
            "type": "Referral",
            "record_type": "case",
            "rejected_reason": "Individual Not Found: not registered",
        },
    }
    cmd = command(
        "primero",
        "progres_referral_decision",
        {"case_id": case["case_id"]},
        {"decisions": [decision]},
    )
    async with running_loader(primero_loader(primero, store), store, unique_prefix) as loader:
        await loader.send(cmd)
        await wait_for(lambda: loader.finished() == 1)
        assert loader.counts() == {"handled": 1}
    [referral] = await api.list_referrals(case["id"])
    assert referral["id"] == referral_id
    assert referral["status"] == "rejected"


async def test_a_decision_naming_no_referral_of_the_case_is_dead_lettered_after_the_rest(
    primero: RunningPrimero, api: PrimeroClient, store: MemoryControlStore, unique_prefix: str
) -> None:
    case = await _case_with_a_unhcr_referral(api)
    [referral] = await api.list_referrals(case["id"])
    decisions = [
        {
            "service_suffix": ROW1[-12:],
            "progres_interoperabilityreferralnumber": "REF-IOP-1",
            "data": {"status": "accepted", "type": "Referral", "record_type": "case"},
        },
        {
            "service_suffix": "000000000000",
            "progres_interoperabilityreferralnumber": "REF-IOP-404",
            "data": {"status": "accepted", "type": "Referral", "record_type": "case"},
        },
    ]
    cmd = command(
        "primero",
        "progres_referral_decision",
        {"case_id": case["case_id"]},
        {"decisions": decisions},
    )
    async with running_loader(primero_loader(primero, store), store, unique_prefix) as loader:
        await loader.send(cmd)
        await wait_for(lambda: loader.finished() == 1)
        assert loader.counts() == {"dead_lettered": 1}
        [letter] = loader.dead_letters()
    assert "REF-IOP-404" in letter.error_message
    assert "REF-IOP-1 " not in letter.error_message
    [after] = await api.list_referrals(case["id"])
    assert after["id"] == referral["id"]
    assert after["status"] == "accepted"  # the matched decision was applied


async def test_progres_target_sends_each_type_to_its_endpoint_once(
    dtp: RunningDtp, store: MemoryControlStore, unique_prefix: str
) -> None:
    referral = {"request_type": "ReceiveIncomingReferral", "id": "c#0123456789ab"}
    decision = {"request_type": "ReceiveDecisionOutgoingReferral", "status": "acknowledged"}
    feedback = {"status": "Pending Acknowledgement", "progres_interventionnumber": N1}
    commands = [
        command("progres", "referral", {"id": "c#0123456789ab"}, {"body": referral}),
        command(
            "progres",
            "decision",
            {"progres_interventionnumber": N1, "status": "acknowledged"},
            {"body": decision},
        ),
        command("progres", "feedback", {"progres_interventionnumber": N1}, {"body": feedback}),
    ]
    async with running_loader(progres_loader(dtp, store), store, unique_prefix) as loader:
        await loader.send(*commands)
        await wait_for(lambda: loader.finished() == 3)
        # the same referral and decision from a later touch of the case: not sent again
        later = [
            command(
                "progres", "referral", {"id": "c#0123456789ab"}, {"body": {**referral, "x": 1}}
            ),
            command(
                "progres",
                "decision",
                {"progres_interventionnumber": N1, "status": "acknowledged"},
                {"body": {**decision, "x": 1}},
            ),
        ]
        await loader.send(*later)
        await wait_for(lambda: loader.finished() == 5)
        assert loader.counts() == {"handled": 3, "superseded": 2}
    received = {(r.endpoint, str(r.body)) for r in dtp.sim.received}
    assert received == {
        ("ReceiveIncomingReferral", str(referral)),
        ("ReceiveDecisionOutgoingReferral", str(decision)),
        ("ReceiveDecisionOutgoingReferral", str(feedback)),
    }


async def test_wrong_subscription_key_parks_and_errors_carry_no_payload(
    dtp: RunningDtp, store: MemoryControlStore, unique_prefix: str
) -> None:
    target = progres_loader(dtp, store, dtp_referral_subscription_key=SecretStr("not-the-key"))
    body = {"name_first": "SECRET-CHILD-NAME", "request_type": "ReceiveIncomingReferral"}
    try:
        with pytest.raises(TargetUnavailable) as caught:
            await target.apply(
                command("progres", "referral", {"id": "c#0123456789ab"}, {"body": body})
            )
    finally:
        await target.close()
    text = str(caught.value) + repr(caught.value.__cause__)
    assert "SECRET-CHILD-NAME" not in text
    assert "not-the-key" not in text
    assert "401" in text
    assert dtp.sim.received == []
