"""The progres target against the DTP gateway as it really is: feedback on the decision endpoint,
one subscription key per endpoint, mutual TLS; a refused key or certificate opens the breaker at
once with that reason and parks (never dead-letters)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from casebridge.errors import ConfigurationError, TargetUnavailable
from casebridge.testing.builders import a_raw_record, an_upsert_command
from dtp_sim.config import DtpConfig, TlsFiles
from dtp_sim.testing import RunningDtp, running_dtp
from dtp_sim.throwaway_pki import ThrowawayPki, make_throwaway_pki
from loader.breaker import BreakerState
from loader.guarded import GuardedTarget
from loader.targets import progres

from .conftest import MemoryControlStore

RIR, RDOR = "ReceiveIncomingReferral", "ReceiveDecisionOutgoingReferral"
N1 = "989-25-PRTITV-0000001"
ACK = {"status": "Pending Acknowledgement", "progres_interventionnumber": N1, "case_id": "c1"}
FAIL = {**ACK, "status": "Delivery Fail", "request_type": "Feedback"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dtp(pki: ThrowawayPki) -> Iterator[RunningDtp]:
    files = TlsFiles(str(pki.server.cert), str(pki.server.key), str(pki.ca))
    with running_dtp(DtpConfig(tls=files)) as sim:
        yield sim


def command(operation: str, key: dict[str, str], body: dict[str, Any]) -> Any:
    version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    raw = a_raw_record(flow="p1", system="dtp", record_type="referral", record_id=version)
    return an_upsert_command(
        raw, target="progres", operation=operation, key=key, payload={"body": body}
    )


def feedback(body: dict[str, Any]) -> Any:
    return command("feedback", {"progres_interventionnumber": N1}, body)


def tls_settings(dtp: RunningDtp, cert: Path, key: Path, ca: Path, **extra: Any) -> Any:
    return progres.ProgresSettings(
        dtp_url=dtp.tls_base_url,
        dtp_referral_subscription_key=SecretStr(dtp.key_for(RIR)),
        dtp_decision_subscription_key=SecretStr(dtp.key_for(RDOR)),
        dtp_client_cert_path=str(cert),
        dtp_client_key_path=str(key),
        dtp_ca_path=str(ca),
        target_rate_per_s=0,
        breaker_cooldown_s=60,
        **extra,
    )


def built(store: MemoryControlStore, settings: Any) -> GuardedTarget:
    target = progres.build(store, settings)
    assert isinstance(target, GuardedTarget)
    return target


def test_keys_per_endpoint_feedback_takes_the_decision_key_and_the_legacy_key_fills_gaps() -> None:
    own = progres.ProgresSettings(
        dtp_referral_subscription_key=SecretStr("r"),
        dtp_decision_subscription_key=SecretStr("d"),
        dtp_subscription_key=SecretStr("legacy"),
    )
    assert progres.subscription_keys(own) == {"referral": "r", "decision": "d", "feedback": "d"}
    legacy = progres.ProgresSettings(dtp_subscription_key=SecretStr("legacy"))
    assert set(progres.subscription_keys(legacy).values()) == {"legacy"}
    distinct = progres.ProgresSettings(
        dtp_decision_subscription_key=SecretStr("d"), dtp_feedback_subscription_key=SecretStr("f")
    )
    assert progres.subscription_keys(distinct)["feedback"] == "f"
    assert progres.ProgresSettings().dtp_feedback_path == "/ReceiveDecisionOutgoingReferral"


def test_keys_come_from_their_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("REFERRAL", "rk"), ("DECISION", "dk")):
        path = tmp_path / name
        path.write_text(value + "\n")
        monkeypatch.setenv(f"DTP_{name}_SUBSCRIPTION_KEY_FILE", str(path))
    keys = progres.subscription_keys(progres.ProgresSettings())
    assert keys == {"referral": "rk", "decision": "dk", "feedback": "dk"}


async def test_over_mutual_tls_each_message_reaches_its_endpoint_with_its_key(
    dtp: RunningDtp, pki: ThrowawayPki, store: MemoryControlStore
) -> None:
    target = built(store, tls_settings(dtp, pki.client.cert, pki.client.key, pki.ca))
    referral = {"request_type": RIR, "id": "c#0123456789ab"}
    try:
        await target.apply(command("referral", {"id": "c#0123456789ab"}, referral))
        await target.apply(feedback(ACK))
        await target.apply(feedback(FAIL))
    finally:
        await target.close()
    assert [(r.endpoint, r.body) for r in dtp.sim.received] == [
        (RIR, referral),
        (RDOR, ACK),
        (RDOR, FAIL),
    ]
    # Through the TLS listener only: no request needed the thumbprint stand-in.
    assert all(e.status == 200 for e in dtp.sim.journal.entries())


async def test_a_certificate_refused_at_the_handshake_opens_the_breaker_with_the_reason(
    dtp: RunningDtp, pki: ThrowawayPki, store: MemoryControlStore
) -> None:
    settings = tls_settings(dtp, pki.foreign_client.cert, pki.foreign_client.key, pki.ca)
    target = built(store, settings)
    try:
        with pytest.raises(TargetUnavailable) as first:
            await target.apply(feedback(ACK))
        # Open at once (not after BREAKER_FAILURES attempts), and the next one says why too.
        assert target.breaker.state is BreakerState.OPEN
        with pytest.raises(TargetUnavailable) as second:
            await target.apply(feedback(FAIL))
        # What `casebridge status` lists (the row is dropped on a clean stop).
        [row] = store.breakers.values()
        assert (row.state, row.last_error_class) == ("open", "TlsRefused")
    finally:
        await target.close()
    reason = "the server refused our client certificate (TLSV1_ALERT_UNKNOWN_CA)"
    assert reason in str(first.value)
    assert "/ReceiveDecisionOutgoingReferral" in str(first.value)
    assert reason in str(second.value)
    assert "circuit open" in str(second.value)
    assert dtp.sim.received == []


async def test_an_untrusted_server_certificate_is_a_configuration_error_too(
    dtp: RunningDtp, pki: ThrowawayPki, store: MemoryControlStore
) -> None:
    target = built(store, tls_settings(dtp, pki.client.cert, pki.client.key, pki.foreign_ca))
    try:
        with pytest.raises(TargetUnavailable, match="server's certificate is not trusted"):
            await target.apply(feedback(ACK))
    finally:
        await target.close()


@pytest.mark.parametrize(
    ("overrides", "operation", "status", "text"),
    [
        # The decision endpoint's key sent to the referral endpoint, and the reverse.
        ({"dtp_referral_subscription_key": RDOR}, "referral", 401, "invalid subscription key"),
        ({"dtp_decision_subscription_key": RIR}, "feedback", 401, "invalid subscription key"),
        ({"dtp_cert_thumbprint": "00" * 20}, "feedback", 403, "Invalid client certificate."),
    ],
)
async def test_a_refused_key_or_certificate_parks_with_apims_reason(
    dtp: RunningDtp,
    store: MemoryControlStore,
    overrides: dict[str, str],
    operation: str,
    status: int,
    text: str,
) -> None:
    keys = {RIR: dtp.key_for(RIR), RDOR: dtp.key_for(RDOR)}
    values: dict[str, Any] = {
        "dtp_url": dtp.base_url,  # the plain listener and its thumbprint stand-in
        "dtp_referral_subscription_key": keys[RIR],
        "dtp_decision_subscription_key": keys[RDOR],
        "dtp_cert_thumbprint_header": dtp.sim.config.cert_header,
        "dtp_cert_thumbprint": dtp.sim.config.client_cert_thumbprint,
        "target_rate_per_s": 0,
    }
    values.update({k: keys.get(v, v) for k, v in overrides.items()})
    target = built(store, progres.ProgresSettings(**values))
    cmd = (
        feedback(ACK)
        if operation == "feedback"
        else command("referral", {"id": "c#0123456789ab"}, {"request_type": RIR})
    )
    try:
        with pytest.raises(TargetUnavailable) as caught:
            await target.apply(cmd)
        assert target.breaker.state is BreakerState.OPEN
    finally:
        await target.close()
    assert f"answered {status}: " in str(caught.value)
    assert text in str(caught.value)
    for secret in keys.values():
        assert secret not in str(caught.value)
    assert dtp.sim.received == []


def test_unreadable_certificate_files_fail_at_start_naming_the_setting(tmp_path: Path) -> None:
    missing = progres.ProgresSettings(dtp_client_cert_path=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigurationError, match="DTP_CLIENT_CERT_PATH"):
        progres.client_ssl_context(missing)
    bad_ca = progres.ProgresSettings(
        dtp_client_cert_path=str(tmp_path / "nope.pem"), dtp_ca_path=str(tmp_path / "ca.pem")
    )
    with pytest.raises(ConfigurationError, match="DTP_CA_PATH"):
        progres.client_ssl_context(bad_ca)
