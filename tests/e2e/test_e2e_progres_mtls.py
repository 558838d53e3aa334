"""P1 feedback over mutual TLS on the real RabbitMQ: the progres loader reaches DTP's TLS listener
with its client certificate, on ReceiveDecisionOutgoingReferral with that endpoint's key. A
certificate DTP refuses at the handshake parks the target with that reason (nothing sent, nothing
dead-lettered); once the certificate is fixed, every parked message loads, once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casebridge.control import open_control_store
from casebridge.service import ConsumingService
from dtp_sim.config import DtpConfig, TlsFiles
from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL
from dtp_sim.testing import RunningDtp, running_dtp
from dtp_sim.throwaway_pki import CertPair, ThrowawayPki, make_throwaway_pki

from .conftest import Pipeline, eventually
from .progres_world import push, received, running_inbox, samples

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RDOR = RECEIVE_DECISION_OUTGOING_REFERRAL
#: The reference referrals give 2 "Pending Acknowledgement" and 2 "Delivery Fail" (API.md §3).
FEEDBACK_STATUSES = ["Delivery Fail"] * 2 + ["Pending Acknowledgement"] * 2


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dtp(pki: ThrowawayPki) -> Iterator[RunningDtp]:
    files = TlsFiles(str(pki.server.cert), str(pki.server.key), str(pki.ca))
    with running_dtp(DtpConfig(tls=files)) as sim:
        yield sim


def use_certificate(
    monkeypatch: pytest.MonkeyPatch, dtp: RunningDtp, pki: ThrowawayPki, pair: CertPair
) -> None:
    """The progres loader's environment, as deployed with mTLS (no thumbprint stand-in)."""
    for name, value in {
        "DTP_URL": dtp.tls_base_url,
        "DTP_REFERRAL_SUBSCRIPTION_KEY": dtp.key_for(RECEIVE_INCOMING_REFERRAL),
        "DTP_DECISION_SUBSCRIPTION_KEY": dtp.key_for(RDOR),
        "DTP_CLIENT_CERT_PATH": str(pair.cert),
        "DTP_CLIENT_KEY_PATH": str(pair.key),
        "DTP_CA_PATH": str(pki.ca),
    }.items():
        monkeypatch.setenv(name, value)


async def start_p1(pipeline: Pipeline) -> ConsumingService:
    await pipeline.start_transformer()
    await pipeline.start_loader("primero")
    return await pipeline.start_loader("progres")


async def push_referrals(pipeline: Pipeline, dtp: RunningDtp, tmp_path: Path) -> None:
    async with running_inbox(pipeline.bus(), tmp_path) as (_, url):
        results = await push(dtp, f"{url}/inbox/dtp", samples("progres-referrals.json"))
    assert [r["status"] for r in results] == [202, 202, 202, 202, 422]


def feedback_statuses(dtp: RunningDtp) -> list[str]:
    return sorted(b["status"] for b in received(dtp, RDOR))


async def test_p1_feedback_reaches_dtp_over_mtls_on_the_decision_endpoint_with_its_key(
    pipeline: Pipeline,
    dtp: RunningDtp,
    pki: ThrowawayPki,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    use_certificate(monkeypatch, dtp, pki, pki.client)
    await start_p1(pipeline)
    await push_referrals(pipeline, dtp, tmp_path)
    await pipeline.settle()

    assert feedback_statuses(dtp) == sorted(FEEDBACK_STATUSES)
    assert [r.endpoint for r in dtp.sim.received] == [RDOR] * 4
    # Every request passed at once: the right key, and the certificate proved by the handshake
    # (the plain listener would have answered 403 without the thumbprint header).
    journal = dtp.sim.journal.entries()
    assert [(e.path, e.status) for e in journal] == [(f"/primero-uat/{RDOR}", 200)] * 4
    assert await pipeline.dead_letters(pipeline.loader_queue("progres")) == []


async def open_breakers(pipeline: Pipeline) -> list[Any]:
    store = await open_control_store(pipeline.store_url("loader-progres"))
    try:
        return [b for b in await store.list_breakers() if b.state == "open"]
    finally:
        await store.close()


async def test_a_refused_certificate_parks_with_its_reason_and_loads_everything_once_fixed(
    pipeline: Pipeline,
    dtp: RunningDtp,
    pki: ThrowawayPki,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_certificate(monkeypatch, dtp, pki, pki.foreign_client)
    progres = await start_p1(pipeline)
    await push_referrals(pipeline, dtp, tmp_path)

    async def parked() -> bool:
        return bool(await open_breakers(pipeline))

    await eventually(parked, timeout_s=30, what="the progres breaker to open")
    [breaker] = await open_breakers(pipeline)
    assert breaker.last_error_class == "TlsRefused"  # what `casebridge status` lists
    # The reason the logs give the operator (the breaker's, repeated by every parked message).
    reason = "the server refused our client certificate (TLSV1_ALERT_UNKNOWN_CA)"
    assert reason in capsys.readouterr().out
    # Give the parked messages several cooldowns (0.5 s) of probes: still nothing sent, and
    # nothing dead-lettered (a refusal counts no attempt).
    await asyncio.sleep(3)
    assert dtp.sim.received == []
    assert dtp.sim.journal.entries() == []  # refused at the handshake: no request reached DTP
    assert await pipeline.dead_letters(pipeline.loader_queue("progres")) == []

    # The operator installs the right certificate and restarts the loader.
    await progres.stop()
    pipeline.services.remove(progres)
    use_certificate(monkeypatch, dtp, pki, pki.client)
    await pipeline.start_loader("progres")
    await pipeline.settle(timeout_s=45)

    assert feedback_statuses(dtp) == sorted(FEEDBACK_STATUSES)  # each once: none lost or doubled
    assert await pipeline.dead_letters(pipeline.loader_queue("progres")) == []
    assert await pipeline.dead_letters(pipeline.transformer_queue) == []
