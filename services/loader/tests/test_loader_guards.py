"""The generic target pieces: token bucket, circuit breaker, idempotency, staleness, lineage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from casebridge.clients import TlsRefused
from casebridge.control import ControlStoreUnavailable
from casebridge.errors import PermanentError, Superseded, TargetUnavailable, TransientError
from casebridge.ids import new_id
from casebridge.messages import UpsertCommand
from casebridge.testing.builders import a_raw_record, an_upsert_command
from loader.breaker import BreakerState, CircuitBreaker
from loader.errors import NotSent
from loader.guarded import GuardedTarget
from loader.rate_limit import TokenBucket
from loader.writer import Written

from .conftest import MemoryControlStore

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeWriter:
    """Records writes; raises the queued errors first."""

    name = "oscar"
    once_per_key = frozenset({"client_upsert"})

    def __init__(self) -> None:
        self.writes: list[UpsertCommand] = []
        self.errors: list[BaseException] = []
        #: What `reconcile` finds in the target (None: nothing), and who asked.
        self.holds: Written | None = None
        self.reconciled: list[UpsertCommand] = []
        #: Errors that prove nothing was written (`left_nothing`).
        self.harmless: tuple[type[BaseException], ...] = ()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, command: UpsertCommand) -> Written:
        if self.errors:
            raise self.errors.pop(0)
        self.writes.append(command)
        return Written(target_id=f"id-{len(self.writes)}")

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        self.reconciled.append(command)
        return self.holds

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        return isinstance(error, self.harmless)


def command(
    updated_at: datetime = T0, operation: str = "update_links", **kw: object
) -> UpsertCommand:
    raw = a_raw_record(record_id="case-1", updated_at=updated_at)
    return an_upsert_command(raw, operation=operation, key={"global_id": "g1"}, **kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def writer() -> FakeWriter:
    return FakeWriter()


@pytest.fixture
def target(writer: FakeWriter, store: MemoryControlStore, clock: FakeClock) -> GuardedTarget:
    breaker = CircuitBreaker("oscar", failure_threshold=2, cooldown_s=10, clock=clock)
    return GuardedTarget(writer, store, breaker)


async def test_a_command_is_written_once_then_superseded_as_already_applied(target, writer, store):
    cmd = command()
    await target.apply(cmd)
    with pytest.raises(Superseded, match="already applied"):
        await target.apply(cmd)
    assert writer.writes == [cmd]
    assert store.outcomes() == [("update_links", "loaded"), ("update_links", "superseded")]
    assert store.lineage[0].target_id == "id-1"
    assert store.lineage[0].command_id == cmd.message_id
    assert store.lineage[0].target_key == "global_id=g1"


async def test_an_older_command_is_superseded_an_equal_or_newer_one_applied(target, writer, store):
    await target.apply(command(T0))
    with pytest.raises(Superseded, match="stale"):
        await target.apply(command(T0 - timedelta(seconds=1)))
    await target.apply(command(T0 + timedelta(seconds=1)))
    assert len(writer.writes) == 2
    assert store.versions[("oscar", "update_links:global_id=g1")] == T0 + timedelta(seconds=1)


async def test_versions_are_kept_per_operation(target, writer):
    await target.apply(command(T0, operation="update_links"))
    await target.apply(command(T0 - timedelta(days=1), operation="update_statuses"))
    assert len(writer.writes) == 2


async def test_a_once_per_key_operation_is_sent_once_whatever_the_message_id(target, writer):
    await target.apply(command(T0, operation="client_upsert"))
    newer = command(T0 + timedelta(hours=1), operation="client_upsert")
    with pytest.raises(Superseded, match="already sent"):
        await target.apply(newer)
    assert len(writer.writes) == 1


async def test_a_command_without_source_version_is_not_guarded(target, writer):
    raw = a_raw_record(record_id="c", updated_at=None)
    await target.apply(an_upsert_command(raw, operation="update_links", key={"global_id": "g"}))
    assert len(writer.writes) == 1


async def test_a_failed_write_is_not_remembered(target, writer, store):
    writer.errors = [PermanentError("OSCaR answered 422")]
    cmd = command()
    with pytest.raises(PermanentError):
        await target.apply(cmd)
    assert store.processed == {}
    assert store.versions == {}
    await target.apply(cmd)  # a replay after the fix goes through
    assert writer.writes == [cmd]


async def test_superseded_by_the_target_is_remembered(target, writer, store):
    writer.errors = [Superseded("OSCaR already holds this referral")]
    cmd = command(operation="client_upsert")
    with pytest.raises(Superseded):
        await target.apply(cmd)
    with pytest.raises(Superseded, match="already applied"):
        await target.apply(cmd)
    assert writer.writes == []
    assert store.outcomes() == [("client_upsert", "superseded")] * 2


async def test_the_breaker_opens_parks_then_probes_and_closes(target, writer, clock):
    writer.errors = [TransientError("503"), TransientError("503")]
    for n in range(2):
        with pytest.raises(TransientError) as failed:
            await target.apply(command(T0 + timedelta(seconds=n)))
        assert not isinstance(failed.value, TargetUnavailable)
    assert target.breaker.state is BreakerState.OPEN
    clock.now += 4
    with pytest.raises(TargetUnavailable) as parked:
        await target.apply(command(T0 + timedelta(seconds=5)))
    assert parked.value.retry_after == pytest.approx(6)
    assert writer.writes == []

    clock.now += 6  # cooldown over: one probe goes through and closes the circuit
    assert target.breaker.state is BreakerState.HALF_OPEN
    await target.apply(command(T0 + timedelta(seconds=6)))
    assert target.breaker.state is BreakerState.CLOSED
    assert len(writer.writes) == 1


async def test_a_failed_probe_reopens_for_a_full_cooldown(target, writer, clock):
    writer.errors = [TransientError("503")] * 3
    for n in range(2):
        with pytest.raises(TransientError):
            await target.apply(command(T0 + timedelta(seconds=n)))
    clock.now += 10
    with pytest.raises(TransientError):
        await target.apply(command(T0 + timedelta(seconds=3)))
    assert target.breaker.state is BreakerState.OPEN
    with pytest.raises(TargetUnavailable) as parked:
        await target.apply(command(T0 + timedelta(seconds=4)))
    assert parked.value.retry_after == pytest.approx(10)


async def test_a_refused_deployment_opens_at_once_with_its_reason_until_a_probe_passes(
    target, writer, clock
):
    writer.errors = [TlsRefused("x POST /p: TLS handshake failed: unknown ca")] * 2
    with pytest.raises(TargetUnavailable) as parked:
        await target.apply(command(T0))
    assert "refused our credentials or certificate" in str(parked.value)
    assert target.breaker.state is BreakerState.OPEN  # threshold 2, opened by one refusal
    with pytest.raises(TargetUnavailable, match=r"circuit open: .*unknown ca"):
        await target.apply(command(T0 + timedelta(seconds=1)))
    clock.now += 10
    with pytest.raises(TargetUnavailable, match="unknown ca"):  # the probe: still refused
        await target.apply(command(T0 + timedelta(seconds=2)))
    assert target.breaker.state is BreakerState.OPEN
    clock.now += 10  # the certificate was fixed meanwhile
    await target.apply(command(T0 + timedelta(seconds=3)))
    assert target.breaker.state is BreakerState.CLOSED
    assert len(writer.writes) == 1


def test_only_one_probe_at_a_time(clock):
    breaker = CircuitBreaker("oscar", failure_threshold=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.check()  # the probe
    with pytest.raises(TargetUnavailable, match="probe"):
        breaker.check()
    breaker.abandon()
    breaker.check()


async def test_a_refusal_counts_as_an_answer(target, writer):
    writer.errors = [TransientError("503"), PermanentError("422"), TransientError("503")]
    for n in range(3):
        with pytest.raises((TransientError, PermanentError)):
            await target.apply(command(T0 + timedelta(seconds=n)))
    assert target.breaker.state is BreakerState.CLOSED


async def test_already_applied_commands_are_acked_while_the_circuit_is_open(target, writer):
    cmd = command()
    await target.apply(cmd)
    writer.errors = [TransientError("503"), TransientError("503")]
    for n in range(2):
        with pytest.raises(TransientError):
            await target.apply(command(T0 + timedelta(seconds=n + 1)))
    with pytest.raises(Superseded):
        await target.apply(cmd)


async def test_commands_for_one_record_never_interleave(store, clock):
    class SlowWriter(FakeWriter):
        active = 0
        most = 0

        async def write(self, command: UpsertCommand) -> Written:
            SlowWriter.active += 1
            SlowWriter.most = max(SlowWriter.most, SlowWriter.active)
            await asyncio.sleep(0.01)
            SlowWriter.active -= 1
            return await super().write(command)

    writer = SlowWriter()
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    await asyncio.gather(*(target.apply(command(T0 + timedelta(seconds=n))) for n in range(5)))
    assert SlowWriter.most == 1
    assert len(writer.writes) == 5


async def test_the_token_bucket_spaces_requests_after_the_burst():
    bucket = TokenBucket(rate_per_s=50, burst=2)
    started = time.monotonic()
    for _ in range(7):
        await bucket.acquire()
    elapsed = time.monotonic() - started
    # 2 at once, then 5 more at 50/s: at least 100 ms.
    assert 0.095 <= elapsed < 0.5


async def test_a_zero_rate_is_unlimited():
    bucket = TokenBucket(rate_per_s=0)
    started = time.monotonic()
    for _ in range(1000):
        await bucket.acquire()
    assert time.monotonic() - started < 0.1


# the breaker's state in the control store (what `casebridge status` lists)


class FailingBreakerStore(MemoryControlStore):
    """A control store whose breaker writes fail while `down` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def record_breaker(self, record):  # type: ignore[no-untyped-def]
        if self.down:
            raise OSError("control store unreachable")
        await super().record_breaker(record)


async def test_only_breaker_state_changes_reach_the_control_store(writer, store, clock):
    breaker = CircuitBreaker("oscar", failure_threshold=2, cooldown_s=10, clock=clock)
    target = GuardedTarget(writer, store, breaker, instance="pod-a:1")
    await target.start()
    assert [(r.state, r.failures) for r in store.breaker_writes] == [("closed", 0)]
    for n in range(3):  # traffic on a closed circuit writes nothing
        await target.apply(command(T0 + timedelta(seconds=n)))
    assert len(store.breaker_writes) == 1

    writer.errors = [TransientError("503"), TransientError("503")]
    for n in range(2):
        with pytest.raises(TransientError):
            await target.apply(command(T0 + timedelta(minutes=1, seconds=n)))
    (row,) = await store.list_breakers()
    assert (row.target, row.instance, row.state) == ("oscar", "pod-a:1", "open")
    assert (row.failures, row.last_error_class) == (2, "TransientError")
    for n in range(5):  # parked while open: no write per request
        with pytest.raises(TargetUnavailable):
            await target.apply(command(T0 + timedelta(minutes=2, seconds=n)))
    assert [r.state for r in store.breaker_writes] == ["closed", "open"]

    clock.now += 10  # the probe succeeds: closed again
    await target.apply(command(T0 + timedelta(minutes=3)))
    assert [r.state for r in store.breaker_writes][-1] == "closed"
    assert (await store.list_breakers())[0].state == "closed"
    assert len(store.breaker_writes) <= 4  # closed, open, (half_open,) closed

    await target.close()  # a clean stop drops this process's row
    assert await store.list_breakers() == []


async def test_a_failed_probe_is_recorded_as_open_again(writer, store, clock):
    breaker = CircuitBreaker("oscar", failure_threshold=1, cooldown_s=10, clock=clock)
    target = GuardedTarget(writer, store, breaker, instance="pod-a:1")
    writer.errors = [TransientError("503"), TimeoutErrorLike("timed out")]
    with pytest.raises(TransientError):
        await target.apply(command(T0))
    clock.now += 10
    with pytest.raises(TransientError):
        await target.apply(command(T0 + timedelta(seconds=1)))
    (row,) = await store.list_breakers()
    assert (row.state, row.last_error_class) == ("open", "TimeoutErrorLike")
    # The probe's half-open and the re-opening in one call: only the latest state is written.
    assert [r.state for r in store.breaker_writes] == ["open", "open"]
    assert store.breaker_writes[1].since >= store.breaker_writes[0].since


class TimeoutErrorLike(TransientError):
    """A transient failure of another class (its name is what the store keeps)."""


async def test_an_unreachable_control_store_never_fails_a_command(writer, clock):
    store = FailingBreakerStore()
    breaker = CircuitBreaker("oscar", failure_threshold=1, cooldown_s=10, clock=clock)
    target = GuardedTarget(writer, store, breaker, instance="pod-a:1")
    store.down = True
    writer.errors = [TransientError("503")]
    with pytest.raises(TransientError) as failed:  # the write's own error, not the store's
        await target.apply(command(T0))
    assert not isinstance(failed.value, TargetUnavailable)
    assert await store.list_breakers() == []
    store.down = False  # the change was kept and lands with the next call (parked or not)
    with pytest.raises(TargetUnavailable):
        await target.apply(command(T0 + timedelta(seconds=1)))
    assert [r.state for r in await store.list_breakers()] == ["open"]
    clock.now += 10
    await target.apply(command(T0 + timedelta(seconds=2)))
    (row,) = await store.list_breakers()
    assert row.state == "closed"


# Intents: a once-only write (a referral creation) is never sent twice, whatever fails between.


class CompletionLost(MemoryControlStore):
    """The store fails the next `fail_completions` completion writes (after the target's answer),
    as a loader killed or a database lost at that moment would."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_completions = 0
        self.down = False

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        ids = list(message_ids)
        if self.down or (self.fail_completions and not ids[0].startswith("intent:")):
            if not self.down:
                self.fail_completions -= 1
            raise ControlStoreUnavailable("the control store is unreachable")
        await super().remember(stage, ids)


def referral() -> UpsertCommand:
    return command(operation="client_upsert")


async def test_a_once_only_write_notes_its_intent_before_it_is_sent(writer, store, clock):
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    noted: list[bool] = []
    original = writer.write

    async def write(cmd: UpsertCommand) -> Written:
        noted.append(bool(await store.seen("loader-oscar", [target.processed.intent_id(cmd)])))
        return await original(cmd)

    writer.write = write  # type: ignore[method-assign]
    await target.apply(referral())
    assert noted == [True]


async def test_an_interrupted_referral_found_in_the_target_is_recorded_not_resent(writer, clock):
    store = CompletionLost()
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    cmd = referral()
    store.fail_completions = 1
    with pytest.raises(ControlStoreUnavailable):
        await target.apply(cmd)  # OSCaR created it; the completion was lost
    assert len(writer.writes) == 1
    writer.holds = Written(target_id="g1")
    await target.apply(cmd)  # the redelivery
    assert len(writer.writes) == 1, "the referral was sent a second time"
    assert writer.reconciled == [cmd]
    assert store.outcomes()[-1] == ("client_upsert", "reconciled")
    with pytest.raises(Superseded):
        await target.apply(cmd)  # and it is complete now
    assert len(writer.reconciled) == 1


async def test_an_interrupted_referral_the_target_lacks_is_sent_once_more(writer, clock):
    store = CompletionLost()
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    cmd = referral()
    writer.errors = [TransientError("read timeout")]  # uncertain: it may or may not have landed
    with pytest.raises(TransientError):
        await target.apply(cmd)
    writer.holds = None  # the target says it holds nothing
    await target.apply(cmd)
    assert writer.reconciled == [cmd]
    assert len(writer.writes) == 1
    assert store.outcomes() == [("client_upsert", "loaded")]


async def test_a_refusal_that_proves_nothing_was_written_drops_the_intent(writer, store, clock):
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    writer.harmless = (PermanentError,)
    writer.errors = [PermanentError("422 level_of_risk can't be blank")]
    cmd = referral()
    with pytest.raises(PermanentError):
        await target.apply(cmd)
    assert await store.seen("loader-oscar", [target.processed.intent_id(cmd)]) == set()
    await target.apply(cmd)  # the admin fixed it and replayed: no question to the target
    assert writer.reconciled == []
    assert len(writer.writes) == 1


async def test_nothing_is_sent_while_the_intent_cannot_be_noted(writer, clock):
    store = CompletionLost()
    store.down = True
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    with pytest.raises(ControlStoreUnavailable):
        await target.apply(referral())
    assert writer.writes == []
    assert target.breaker.snapshot().failures == 0, "the store's outage is not the target's"


async def test_repeatable_operations_leave_no_intent(target, writer, store):
    cmd = command(operation="update_links")
    await target.apply(cmd)
    assert not any(i.startswith("intent:") for i in store.processed.get("loader-oscar", set()))


async def test_a_refusal_that_may_follow_a_save_keeps_the_intent_and_says_how_to_resend(
    writer, store, clock
):
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    writer.errors = [PermanentError("oscar POST /clients/upsert answered 422: gender")]
    cmd = referral()
    with pytest.raises(PermanentError) as refused:
        await target.apply(cmd)
    assert "--resend" in " ".join(refused.value.__notes__)
    assert await store.seen("loader-oscar", [target.processed.intent_id(cmd)])
    await target.apply(cmd)  # the replay asks the target first (here it can tell: absent)
    assert writer.reconciled == [cmd]
    assert len(writer.writes) == 1


def _writes(outcome: str, operation: str = "update_links") -> float:
    value = REGISTRY.get_sample_value(
        "casebridge_loader_writes_total",
        {"target": "oscar", "operation": operation, "outcome": outcome},
    )
    return value or 0.0


async def test_a_repeat_of_an_idempotent_write_is_counted_as_such(target, writer):
    before = {o: _writes(o) for o in ("written", "repeated", "superseded")}
    first = command()
    await target.apply(first)
    # Another message for the same source version of the same record (e.g. a second flow's
    # command on that key): sent again, harmless for an idempotent write, and counted.
    again = first.model_copy(update={"message_id": new_id()})
    await target.apply(again)
    with pytest.raises(Superseded):
        await target.apply(first)  # a redelivery of an applied message is not sent
    assert len(writer.writes) == 2
    assert _writes("written") - before["written"] == 1
    assert _writes("repeated") - before["repeated"] == 1
    assert _writes("superseded") - before["superseded"] == 1


async def test_a_refusal_before_any_request_drops_the_intent(writer, store, clock):
    target = GuardedTarget(writer, store, CircuitBreaker("oscar", clock=clock))
    writer.errors = [NotSent("OSCaR would create nothing: child g1 has no client in tpo")]
    cmd = referral()
    with pytest.raises(NotSent) as refused:
        await target.apply(cmd)
    assert "--resend" not in " ".join(getattr(refused.value, "__notes__", []))
    assert await store.seen("loader-oscar", [target.processed.intent_id(cmd)]) == set()
    await target.apply(cmd)  # replayed after the NGO opened the child: sent, nothing asked
    assert writer.reconciled == []
    assert len(writer.writes) == 1
